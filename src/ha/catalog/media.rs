//! Media: Home Assistant's MQTT integration has no media player, so playback is buttons, the volume
//! a number and what is playing sensors.

use super::types::*;
use crate::vehicle::signal::{Signal, Signals, Value};

/// Tesla reports media times in milliseconds.
fn seconds(signal: Signal, s: &Signals) -> Option<Reading> {
    Some(match s.get(&signal)? {
        Value::Unknown => Reading::Unknown,
        v => Reading::Number(v.as_f64()? / 1000.0),
    })
}

fn duration(s: &Signals) -> Option<Reading> {
    seconds(Signal::MediaNowPlayingDuration, s)
}

fn elapsed(s: &Signals) -> Option<Reading> {
    seconds(Signal::MediaNowPlayingElapsed, s)
}

pub(super) static ROWS: &[Entity] = &[
    sensor(
        "media_playback_status",
        "Media playback",
        Read::Value(Signal::MediaPlaybackStatus),
    )
    .icon("mdi:play-pause")
    .row(),
    sensor(
        "media_now_playing_title",
        "Now playing",
        Read::Value(Signal::MediaNowPlayingTitle),
    )
    .icon("mdi:music")
    .row(),
    sensor(
        "media_now_playing_artist",
        "Now playing artist",
        Read::Value(Signal::MediaNowPlayingArtist),
    )
    .icon("mdi:account-music")
    .row(),
    sensor(
        "media_now_playing_album",
        "Now playing album",
        Read::Value(Signal::MediaNowPlayingAlbum),
    )
    .icon("mdi:album")
    .disabled()
    .row(),
    sensor(
        "media_now_playing_station",
        "Now playing station",
        Read::Value(Signal::MediaNowPlayingStation),
    )
    .icon("mdi:radio")
    .disabled()
    .row(),
    sensor(
        "media_now_playing_source",
        "Media source",
        Read::Value(Signal::MediaPlaybackSource),
    )
    .icon("mdi:import")
    .disabled()
    .row(),
    sensor(
        "media_now_playing_duration",
        "Track length",
        Read::Derived(Signal::MediaNowPlayingDuration, duration),
    )
    .of(Measure::Duration(DurationUnit::Seconds))
    .decimals(0)
    .disabled()
    .row(),
    sensor(
        "media_now_playing_elapsed",
        "Track position",
        Read::Derived(Signal::MediaNowPlayingElapsed, elapsed),
    )
    .of(Measure::Duration(DurationUnit::Seconds))
    .decimals(0)
    .disabled()
    .hidden()
    .row(),
    number(
        "media_volume",
        "Volume",
        Read::Value(Signal::MediaAudioVolume),
        Bounds {
            min: Bound::Fixed(0.0),
            max: Bound::Signal(Signal::MediaAudioVolumeMax, 11.0),
            step: 0.1,
        },
        Call::value("adjust_volume", &["volume"]),
    )
    .icon("mdi:volume-high")
    .row(),
    button(
        "media_toggle_playback",
        "Play or pause",
        Call::new("media_toggle_playback"),
    )
    .icon("mdi:play-pause")
    .row(),
    button(
        "media_next_track",
        "Next track",
        Call::new("media_next_track"),
    )
    .icon("mdi:skip-next")
    .row(),
    button(
        "media_prev_track",
        "Previous track",
        Call::new("media_prev_track"),
    )
    .icon("mdi:skip-previous")
    .row(),
    button(
        "media_next_fav",
        "Next favorite",
        Call::new("media_next_fav"),
    )
    .icon("mdi:star-plus")
    .disabled()
    .row(),
    button(
        "media_prev_fav",
        "Previous favorite",
        Call::new("media_prev_fav"),
    )
    .icon("mdi:star-minus")
    .disabled()
    .row(),
    button("media_volume_up", "Volume up", Call::new("media_volume_up"))
        .icon("mdi:volume-plus")
        .row(),
    button(
        "media_volume_down",
        "Volume down",
        Call::new("media_volume_down"),
    )
    .icon("mdi:volume-minus")
    .row(),
];

//! Firmware: the update entity and software-update diagnostics.

use super::types::*;
use crate::vehicle::signal::Signal;

pub(super) static ROWS: &[Entity] = &[
    Update {
        common: common("vehicle_state_software_update_status", "Update"),
        installed: Signal::Version,
        latest: Signal::SoftwareUpdateVersion,
        status: Signal::SoftwareUpdateStatus,
        progress: Signal::SoftwareUpdateInstallationPercentComplete,
        install: Call::with("schedule_software_update", r#"{"offset_sec":0}"#),
    }
    .row(),
    button(
        "cancel_software_update",
        "Cancel software update",
        Call::new("cancel_software_update"),
    )
    .icon("mdi:update")
    .disabled()
    .row(),
    sensor(
        "software_update_download_percent",
        "Software update download",
        Read::Value(Signal::SoftwareUpdateDownloadPercentComplete),
    )
    .measurement(Measure::Plain(Unit::Percent))
    .decimals(0)
    .diagnostic()
    .disabled()
    .row(),
    sensor(
        "software_update_expected_duration_minutes",
        "Software update expected duration",
        Read::Value(Signal::SoftwareUpdateExpectedDurationMinutes),
    )
    .measurement(Measure::Duration(DurationUnit::Minutes))
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "software_update_available",
        "Software update available",
        Read::Value(Signal::SoftwareUpdateAvailable),
    )
    .diagnostic()
    .disabled()
    .row(),
    binary(
        "software_update_in_progress",
        "Software update in progress",
        Read::Value(Signal::SoftwareUpdateInProgress),
    )
    .class(BinaryClass::Running)
    .diagnostic()
    .disabled()
    .row(),
];

//! The data path from a `vehicle_data` answer to MQTT payloads: mapping, hub diff, states, discovery.
//! Run: `cargo bench --bench pipeline`. Results: docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

use teslasync::config::DiscoveryMode;
use teslasync::ha::catalog::CATALOG;
use teslasync::ha::discovery;
use teslasync::ha::topics::Topics;
use teslasync::store::{Store, StoreKey};
use teslasync::vehicle::hub::Hub;
use teslasync::vehicle::signal::{Signals, Update};
use teslasync::vehicle::vehicle_data::signals_from_vehicle_data;
use teslasync::vehicle::VehicleInfo;

fn vehicle_data() -> serde_json::Value {
    json!({
        "display_name": "Red Rocket",
        "charge_state": {"battery_level": 64, "usable_battery_level": 63, "battery_range": 198.4, "est_battery_range": 170.2,
            "ideal_battery_range": 198.4, "charging_state": "Charging", "charger_power": 11, "charge_energy_added": 12.7,
            "charger_voltage": 229, "charger_actual_current": 16, "charger_phases": 3, "charge_limit_soc": 80,
            "charge_limit_soc_min": 50, "charge_limit_soc_max": 100, "charge_current_request": 16, "charge_current_request_max": 32,
            "time_to_full_charge": 0.92, "charge_port_door_open": true, "charge_port_latch": "Engaged", "conn_charge_cable": "IEC",
            "battery_heater_on": false},
        "climate_state": {"inside_temp": 17.4, "outside_temp": 9.5, "is_climate_on": false, "driver_temp_setting": 21.0,
            "passenger_temp_setting": 21.0, "min_avail_temp": 15.0, "max_avail_temp": 28.0, "seat_heater_left": 0, "seat_heater_right": 0},
        "drive_state": {"latitude": 52.37403, "longitude": 4.88969, "heading": 271, "power": -11, "shift_state": null, "speed": null},
        "vehicle_state": {"car_version": "2024.44.25.1 abcdef012345", "locked": true, "sentry_mode": false, "valet_mode": false,
            "is_user_present": false, "df": 0, "dr": 0, "pf": 0, "pr": 0, "ft": 0, "rt": 0, "fd_window": 0, "fp_window": 0,
            "rd_window": 0, "rp_window": 0, "odometer": 15234.56, "tpms_pressure_fl": 2.9, "tpms_pressure_fr": 2.9,
            "tpms_pressure_rl": 2.875, "tpms_pressure_rr": 2.9}
    })
}

fn bench(c: &mut Criterion) {
    let data = vehicle_data();
    let info = VehicleInfo {
        vin: "5YJSA1E2XJF000002".into(),
        display_name: "Red Rocket".into(),
        signing_required: false,
    };
    let signals: Signals = signals_from_vehicle_data(&data).into_iter().collect();
    let topics = Topics::new("teslasync", "homeassistant");
    let site = discovery::Site {
        mode: DiscoveryMode::Device,
        configuration_url: None,
    };

    c.bench_function("map vehicle_data to signals", |b| {
        b.iter(|| signals_from_vehicle_data(black_box(&data)))
    });

    c.bench_function("entity states for one car", |b| {
        b.iter(|| {
            CATALOG
                .iter()
                .filter_map(|e| e.state_of(black_box(&signals)))
                .count()
        })
    });

    c.bench_function("device discovery config for one car (serialized)", |b| {
        b.iter(|| {
            let configs = discovery::configs(&topics, &site, black_box(&info), &signals);
            serde_json::to_vec(&configs[0].1).unwrap().len()
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let key = teslasync::secret::Secret::from(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        [7u8; 32],
    ));
    let store = Store::open(&dir.path().join("data"), StoreKey::Configured(key)).unwrap();
    let hub = Hub::load(store).unwrap();
    hub.upsert_info(info.clone());
    let update = || Update {
        vin: info.vin.clone(),
        at: SystemTime::now(),
        signals: signals_from_vehicle_data(&data),
    };
    hub.apply(update());
    c.bench_function("hub apply, nothing changed (the common poll)", |b| {
        b.iter(|| hub.apply(black_box(update())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

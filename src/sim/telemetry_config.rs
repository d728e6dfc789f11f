//! `sim::telemetry_config`: Tesla's `fleet_telemetry_config` endpoints, as the simulated account
//! answers them.
//!
//! `POST /api/1/vehicles/fleet_telemetry_config_jws {"vins", "token"}` checks the token like
//! Tesla's side does, with its own Schnorr verification: header `Tesla.SS256`, audience
//! `com.tesla.fleet.TelemetryClient`, `iss` = a public key paired on the car, a signature that
//! verifies with that key. Cars that are not paired are skipped as `missing_key`; the others store
//! the config, synced at once while awake. `GET /api/1/vehicles/{vin}/fleet_telemetry_config`
//! reports `synced`, `config`, `limit_reached` and `key_paired`;
//! `GET /api/1/vehicles/{vin}/fleet_telemetry_errors` the errors a test injected
//! ([`Sim::telemetry_error`]). [`TelemetryAccount`] counts the calls, so tests can assert which
//! ones a daemon did not need to make.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::elliptic_curve::PrimeField;
use p256::{ProjectivePoint, PublicKey, Scalar, U256};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::reply;
use super::Sim;

/// Telemetry config calls so far, and the errors Tesla's side reports per car.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryAccount {
    /// `fleet_telemetry_config_jws` calls.
    pub pushes: u64,
    /// `GET fleet_telemetry_config` calls.
    pub config_reads: u64,
    /// `GET fleet_telemetry_errors` calls.
    pub error_reads: u64,
    /// VIN → error texts, as `fleet_telemetry_errors` lists them.
    pub errors: std::collections::BTreeMap<String, Vec<String>>,
}

impl Sim {
    /// The telemetry config car `vin` holds (its signed claims), if any.
    pub fn telemetry_config(&self, vin: &str) -> Option<Value> {
        self.world().telemetry_configs.get(vin).cloned()
    }

    /// The telemetry config calls counted so far.
    pub fn telemetry_account(&self) -> TelemetryAccount {
        self.world().telemetry_account.clone()
    }

    /// Tesla's side reports `error` for car `vin` (e.g. it could not reach the receiver).
    pub fn telemetry_error(&self, vin: &str, error: &str) {
        self.world()
            .telemetry_account
            .errors
            .entry(vin.to_string())
            .or_default()
            .push(error.to_string());
    }
}

pub async fn push_jws(State(sim): State<Sim>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return reply::fleet_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let (Some(vins), Some(token)) = (body["vins"].as_array(), body["token"].as_str()) else {
        return reply::fleet_error(StatusCode::BAD_REQUEST, "vins and token are required");
    };
    let Some((issuer, claims)) = check_token(token) else {
        return reply::fleet_error(
            StatusCode::BAD_REQUEST,
            "invalid token: signature does not verify",
        );
    };
    let mut world = sim.world();
    world.telemetry_account.pushes += 1;
    let (mut updated, mut missing_key) = (0, Vec::new());
    for vin in vins.iter().filter_map(Value::as_str) {
        let paired = world
            .keyrings
            .get(vin)
            .is_some_and(|ring| ring.paired_hex().contains(&hex::encode(&issuer)));
        if paired {
            world
                .telemetry_configs
                .insert(vin.to_string(), claims.clone());
            updated += 1;
        } else {
            missing_key.push(vin.to_string());
        }
    }
    reply::ok(json!({
        "updated_vehicles": updated,
        "skipped_vehicles": {
            "missing_key": missing_key,
            "unsupported_hardware": [],
            "unsupported_firmware": [],
            "max_configs": [],
        },
    }))
}

pub async fn get_config(State(sim): State<Sim>, Path(vin): Path<String>) -> Response {
    let mut world = sim.world();
    world.telemetry_account.config_reads += 1;
    if world.find(&vin).is_none() {
        return reply::fleet_error(StatusCode::NOT_FOUND, &format!("{vin} not_found"));
    }
    let config = world.telemetry_configs.get(&vin).cloned();
    let key_paired = match (world.partner.registered_key(), world.keyrings.get(&vin)) {
        (Some(app_key), Some(ring)) => ring.paired_hex().iter().any(|k| k == app_key),
        _ => config.is_some(),
    };
    reply::ok(json!({
        "synced": true,
        "config": config,
        "alert_types": config.as_ref().map(|c| c["alert_types"].clone()),
        "limit_reached": false,
        "key_paired": key_paired,
    }))
}

pub async fn get_errors(State(sim): State<Sim>, Path(vin): Path<String>) -> Response {
    let mut world = sim.world();
    world.telemetry_account.error_reads += 1;
    if world.find(&vin).is_none() {
        return reply::fleet_error(StatusCode::NOT_FOUND, &format!("{vin} not_found"));
    }
    let errors: Vec<Value> = world
        .telemetry_account
        .errors
        .get(&vin)
        .into_iter()
        .flatten()
        .map(|e| json!({"name": "teslasync-sim-client", "error": e, "vin": vin}))
        .collect();
    reply::ok(json!({ "fleet_telemetry_errors": errors }))
}

/// The issuer's public key and the claims, if the token is a valid fleet telemetry config.
fn check_token(token: &str) -> Option<(Vec<u8>, Value)> {
    let mut parts = token.split('.');
    let (header, claims, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header["alg"] != "Tesla.SS256" {
        return None;
    }
    let claims_json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    if claims_json["aud"] != "com.tesla.fleet.TelemetryClient" {
        return None;
    }
    let issuer = STANDARD.decode(claims_json["iss"].as_str()?).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    let signed = &token[..token.rfind('.')?];
    schnorr_ok(&issuer, signed.as_bytes(), &sig).then_some((issuer, claims_json))
}

/// Schnorr over P-256 as Tesla's cars check it: signature `Vx ‖ Vy ‖ r`, challenge
/// `c = SHA-256(LV(G) ‖ LV(V) ‖ LV(A) ‖ LV(m))`, valid when `c·A + r·G = V`.
fn schnorr_ok(public_key: &[u8], message: &[u8], sig: &[u8]) -> bool {
    if sig.len() != 96 || public_key.len() != 65 {
        return false;
    }
    let Ok(a) = PublicKey::from_sec1_bytes(public_key) else {
        return false;
    };
    let mut v = vec![0x04];
    v.extend_from_slice(&sig[..64]);
    let Ok(v_point) = PublicKey::from_sec1_bytes(&v) else {
        return false;
    };
    let r_bytes: [u8; 32] = sig[64..].try_into().expect("32 bytes");
    let Some(r) = Option::<Scalar>::from(Scalar::from_repr(r_bytes.into())) else {
        return false;
    };
    let g = ProjectivePoint::GENERATOR
        .to_affine()
        .to_encoded_point(false);
    let mut h = Sha256::new();
    for part in [g.as_bytes(), &v, public_key, message] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    let c = <Scalar as Reduce<U256>>::reduce_bytes(&h.finalize());
    (a.to_projective() * c + ProjectivePoint::GENERATOR * r).to_affine() == *v_point.as_affine()
}

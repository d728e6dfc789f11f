//! End-to-end tests of `signed_command`: the real router on `127.0.0.1:0`, a `tesla::command::Signer`
//! as the client, reqwest over loopback and a manual clock. The harness is this file's own (kept
//! small) so that `sim::tests` stays untouched.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;
use crate::tesla::command::messages::{FromVcsecMessage, FromVcsecSubMessage};
use crate::tesla::command::{
    actions, Domain, KeyPair, MessageFault, ProtocolError, Reply, SignOptions, SignedRequest,
    Signer,
};
use crate::vehicle::command::Command;

const MODEL_Y: &str = "7SAYGDEE1NA000001";
const MODEL_S: &str = "5YJSA1E2XJF000002";

/// The simulator test harness of `sim::tests`, on a manual clock, with signed-command helpers.
struct Harness(super::tests::Harness);

impl std::ops::Deref for Harness {
    type Target = super::tests::Harness;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A `signed_command` answer: the status, the JSON body, and the car's RoutableMessage on 200.
struct Posted {
    status: StatusCode,
    body: Value,
    reply: Vec<u8>,
}

impl Harness {
    async fn start() -> Harness {
        Harness(
            super::tests::Harness::start(SimConfig {
                clock: Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                ..SimConfig::default()
            })
            .await,
        )
    }

    fn now(&self) -> std::time::SystemTime {
        self.sim.clock().now()
    }

    /// `POST signed_command` with a raw JSON body.
    async fn post_body(&self, vin: &str, body: Value) -> Posted {
        let resp = self
            .http
            .post(format!("{}/api/1/vehicles/{vin}/signed_command", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        let reply = match (status, body["response"].as_str()) {
            (StatusCode::OK, Some(b64)) => BASE64.decode(b64).expect("standard base64"),
            _ => Vec::new(),
        };
        Posted {
            status,
            body,
            reply,
        }
    }

    async fn post(&self, vin: &str, message: &[u8]) -> Posted {
        self.post_body(vin, json!({ "routable_message": BASE64.encode(message) }))
            .await
    }

    async fn handshake(&self, signer: &mut Signer) -> Result<(), ProtocolError> {
        let now = self.now();
        let hello = signer.handshake_request(now);
        let posted = self.post(signer.vin(), hello.bytes()).await;
        assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
        signer.accept_handshake(&hello, &posted.reply, now)
    }

    /// Signs `payload` now and posts it; the request comes back for replays.
    async fn send(
        &self,
        signer: &mut Signer,
        payload: &[u8],
        options: SignOptions,
    ) -> (SignedRequest, Posted) {
        let request = signer.sign(payload, options, self.now()).unwrap();
        let posted = self.post(signer.vin(), request.bytes()).await;
        (request, posted)
    }

    /// Signs, posts and opens the reply of one command.
    async fn run(&self, signer: &mut Signer, cmd: &Command) -> Result<Reply, ProtocolError> {
        let (domain, payload) = actions::encode(cmd).unwrap();
        assert_eq!(domain, signer.domain(), "{cmd:?} goes to {domain}");
        let (request, posted) = self.send(signer, &payload, SignOptions::default()).await;
        assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
        signer.open_reply(&request, &posted.reply, self.now())
    }

    async fn control(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.json().await.unwrap())
    }

    fn view(&self, vin: &str) -> Value {
        self.sim.vehicle_json(vin).unwrap()
    }

    /// A client key paired with the Model Y and a signer per domain with a session.
    async fn paired(&self) -> (Arc<KeyPair>, Signer, Signer) {
        let key = Arc::new(KeyPair::generate());
        self.sim.pair_key(MODEL_Y, key.public_key()).unwrap();
        let mut vcsec = Signer::new(key.clone(), MODEL_Y, Domain::VehicleSecurity).unwrap();
        let mut info = Signer::new(key.clone(), MODEL_Y, Domain::Infotainment).unwrap();
        self.handshake(&mut vcsec).await.unwrap();
        self.handshake(&mut info).await.unwrap();
        (key, vcsec, info)
    }
}

fn cmd(name: &str, params: Value) -> Command {
    Command::parse(name, &params).unwrap()
}

#[tokio::test]
async fn an_unpaired_key_is_told_to_pair() {
    let h = Harness::start().await;
    let key = Arc::new(KeyPair::generate());
    for domain in [Domain::VehicleSecurity, Domain::Infotainment] {
        let mut signer = Signer::new(key.clone(), MODEL_Y, domain).unwrap();
        let err = h.handshake(&mut signer).await.unwrap_err();
        assert!(err.is_key_not_paired(), "{err}");
    }
    let stats = h.sim.signed_stats(MODEL_Y);
    assert_eq!(
        (stats.handshakes, stats.accepted, stats.rejected),
        (2, 0, 0)
    );
    assert_eq!(h.view(MODEL_Y)["paired_keys"], json!([]));
}

#[tokio::test]
async fn paired_commands_change_the_car_over_both_domains() {
    let h = Harness::start().await;
    let (_, mut vcsec, mut info) = h.paired().await;
    assert_eq!(h.view(MODEL_Y)["locked"], true);

    h.run(&mut vcsec, &Command::DoorUnlock).await.unwrap();
    h.run(&mut info, &cmd("set_charge_limit", json!({"percent": 90})))
        .await
        .unwrap();
    h.run(
        &mut info,
        &cmd(
            "remote_seat_heater_request",
            json!({"seat_position": 1, "level": 3}),
        ),
    )
    .await
    .unwrap();
    h.run(&mut info, &Command::AutoConditioningStart)
        .await
        .unwrap();

    let view = h.view(MODEL_Y);
    assert_eq!(view["locked"], false);
    assert_eq!(view["charge_limit_soc"], 90);
    assert_eq!(view["is_climate_on"], true);
    assert_eq!(
        view["vehicle_data"]["climate_state"]["seat_heater_right"],
        3
    );
    assert_eq!(
        view["signed"],
        json!({
            "handshakes": 2, "accepted": 4, "refused": 0, "rejected": 0,
            "last_counter": {"vcsec": 1, "infotainment": 3},
        })
    );
    // Every request, handshakes included, is a billed command.
    let billing = h.sim.billing();
    assert_eq!(billing.commands, 6);
    let vin = &billing.by_vin[MODEL_Y];
    assert_eq!(
        (vin.commands, vin.signed_commands, vin.handshakes),
        (6, 4, 2)
    );
}

#[tokio::test]
async fn a_replayed_message_is_rejected_and_changes_nothing() {
    let h = Harness::start().await;
    let (_, _, mut info) = h.paired().await;
    h.run(&mut info, &cmd("set_charge_limit", json!({"percent": 60})))
        .await
        .unwrap();
    let captured = h.sim.last_signed_request(MODEL_Y).unwrap();
    h.run(&mut info, &cmd("set_charge_limit", json!({"percent": 70})))
        .await
        .unwrap();

    let again = h.post(MODEL_Y, &captured).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let reply =
        crate::tesla::command::messages::RoutableMessage::decode(again.reply.as_slice()).unwrap();
    assert_eq!(
        reply.signed_message_status.unwrap().signed_message_fault,
        MessageFault::InvalidTokenOrCounter as i32
    );
    assert_eq!(h.view(MODEL_Y)["charge_limit_soc"], 70);
    let stats = h.sim.signed_stats(MODEL_Y);
    assert_eq!((stats.accepted, stats.rejected), (2, 1));
    assert_eq!(stats.last_counter["infotainment"], 2);
    // The capture is the replayed message now.
    assert_eq!(h.sim.last_signed_request(MODEL_Y), Some(captured));
}

#[tokio::test]
async fn an_expired_message_is_rejected_and_the_signer_recovers() {
    let h = Harness::start().await;
    let (_, _, mut info) = h.paired().await;
    let (_, payload) = actions::encode(&cmd("set_charge_limit", json!({"percent": 95}))).unwrap();
    let short = SignOptions {
        ttl: Duration::from_secs(2),
        ..SignOptions::default()
    };
    let request = info.sign(&payload, short, h.now()).unwrap();
    h.sim.advance(Duration::from_secs(5)).unwrap();
    let late = h.post(MODEL_Y, request.bytes()).await;
    let err = info.open_reply(&request, &late.reply, h.now()).unwrap_err();
    assert_eq!(err.fault(), Some(MessageFault::TimeExpired), "{err}");
    assert!(err.is_temporary() && !err.may_have_succeeded(), "{err}");
    assert_eq!(h.view(MODEL_Y)["charge_limit_soc"], 80);
    assert_eq!(h.sim.signed_stats(MODEL_Y).rejected, 1);

    // The fault's session info resynchronised the clock: signing again, no handshake, goes through.
    assert!(!err.needs_resync(), "{err}");
    h.run(&mut info, &cmd("set_charge_limit", json!({"percent": 95})))
        .await
        .unwrap();
    assert_eq!(h.view(MODEL_Y)["charge_limit_soc"], 95);
    assert_eq!(h.sim.signed_stats(MODEL_Y).handshakes, 2);
}

#[tokio::test]
async fn after_a_reboot_the_fault_carries_the_session_to_recover_with() {
    let h = Harness::start().await;
    let (_, mut vcsec, _) = h.paired().await;
    h.run(&mut vcsec, &Command::DoorUnlock).await.unwrap();
    let (status, _) = h
        .control(
            Method::POST,
            &format!("/sim/vehicles/{MODEL_Y}/reboot"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let err = h.run(&mut vcsec, &Command::DoorLock).await.unwrap_err();
    assert_eq!(err.fault(), Some(MessageFault::IncorrectEpoch), "{err}");
    assert!(err.is_temporary() && !err.needs_resync(), "{err}");
    assert_eq!(h.view(MODEL_Y)["locked"], false);

    h.run(&mut vcsec, &Command::DoorLock).await.unwrap();
    assert_eq!(h.view(MODEL_Y)["locked"], true);
    let stats = h.sim.signed_stats(MODEL_Y);
    assert_eq!(
        (stats.handshakes, stats.accepted, stats.rejected),
        (2, 2, 1)
    );
    // Counters restart with the new epoch.
    assert_eq!(stats.last_counter["vcsec"], 1);
}

#[tokio::test]
async fn an_asleep_car_answers_408_and_keeps_its_sessions() {
    let h = Harness::start().await;
    let (_, _, mut info) = h.paired().await;
    h.sim.act(MODEL_Y, "sleep").unwrap();

    let (_, payload) = actions::encode(&Command::AutoConditioningStart).unwrap();
    let (_, posted) = h.send(&mut info, &payload, SignOptions::default()).await;
    assert_eq!(posted.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(posted.body["error"], reply::VEHICLE_UNAVAILABLE);
    assert_eq!(h.view(MODEL_Y)["state"], "asleep");
    let vin = h.sim.billing().by_vin[MODEL_Y].clone();
    assert_eq!((vin.commands, vin.commands_while_asleep), (3, 1));

    // Sessions survive sleep: no new handshake after waking.
    h.sim.act(MODEL_Y, "wake").unwrap();
    h.run(&mut info, &Command::AutoConditioningStart)
        .await
        .unwrap();
    assert_eq!(h.view(MODEL_Y)["is_climate_on"], true);
    assert_eq!(h.sim.signed_stats(MODEL_Y).handshakes, 2);
}

#[tokio::test]
async fn signed_requests_keep_the_car_awake() {
    let h = Harness::start().await;
    let (_, _, mut info) = h.paired().await;
    // 10 minutes idle, then a ping: the 15-minute sleep timer restarts from it.
    h.sim.advance(Duration::from_secs(600)).unwrap();
    let (_, ping) = actions::ping(7);
    let request = info.sign(&ping, SignOptions::default(), h.now()).unwrap();
    let posted = h.post(MODEL_Y, request.bytes()).await;
    info.open_reply(&request, &posted.reply, h.now()).unwrap();
    h.sim.advance(Duration::from_secs(600)).unwrap();
    assert_eq!(h.view(MODEL_Y)["state"], "online");
    h.sim.advance(Duration::from_secs(300)).unwrap();
    assert_eq!(h.view(MODEL_Y)["state"], "asleep");
    assert_eq!(h.sim.signed_stats(MODEL_Y).accepted, 1);
}

#[tokio::test]
async fn a_car_without_the_protocol_answers_422() {
    let h = Harness::start().await;
    let key = Arc::new(KeyPair::generate());
    let signer = Signer::new(key.clone(), MODEL_S, Domain::Infotainment).unwrap();
    let posted = h
        .post(MODEL_S, signer.handshake_request(h.now()).bytes())
        .await;
    assert_eq!(posted.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(posted.body["response"], Value::Null);
    assert_eq!(h.sim.billing().by_vin[MODEL_S].commands, 1);
    assert!(matches!(
        h.sim.pair_key(MODEL_S, key.public_key()),
        Err(SimError::Refused(_))
    ));
    assert_eq!(h.sim.last_signed_request(MODEL_S), None);
}

#[tokio::test]
async fn a_car_side_refusal_is_not_a_protocol_fault() {
    let h = Harness::start().await;
    let (_, _, mut info) = h.paired().await;
    let sentry = cmd("set_sentry_mode", json!({"on": true}));
    h.run(&mut info, &sentry).await.unwrap();
    let err = h.run(&mut info, &sentry).await.unwrap_err();
    assert!(
        matches!(&err, ProtocolError::Refused { reason, .. } if reason == "already_set"),
        "{err}"
    );
    assert_eq!(h.view(MODEL_Y)["sentry_mode"], true);
    let stats = h.sim.signed_stats(MODEL_Y);
    assert_eq!((stats.accepted, stats.refused, stats.rejected), (1, 1, 0));
    // A command the simulated car does not model is refused the same way.
    let err = h
        .run(&mut info, &cmd("set_pin_to_drive", json!({"on": false})))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProtocolError::Refused { reason, .. } if reason == "not_supported"),
        "{err}"
    );
    assert_eq!(h.sim.signed_stats(MODEL_Y).refused, 2);
}

#[tokio::test]
async fn pings_and_status_requests_are_answered() {
    let h = Harness::start().await;
    let (_, mut vcsec, mut info) = h.paired().await;
    let (_, ping) = actions::ping(1);
    let (request, posted) = h.send(&mut info, &ping, SignOptions::default()).await;
    info.open_reply(&request, &posted.reply, h.now()).unwrap();

    let (_, status) = actions::vehicle_status_request();
    let (request, posted) = h.send(&mut vcsec, &status, SignOptions::default()).await;
    let reply = vcsec.open_reply(&request, &posted.reply, h.now()).unwrap();
    let msg = FromVcsecMessage::decode(reply.payload.as_slice()).unwrap();
    let Some(FromVcsecSubMessage::VehicleStatus(status)) = msg.sub_message else {
        panic!("not a vehicle status: {msg:?}");
    };
    assert_eq!(status.vehicle_lock_state, 1, "locked");
    assert_eq!(h.sim.signed_stats(MODEL_Y).accepted, 2);
}

#[tokio::test]
async fn malformed_bodies_are_400_and_malformed_messages_a_fault() {
    let h = Harness::start().await;
    for body in [
        json!({}),
        json!({"routable_message": "not base64!"}),
        json!({"routable_message": ""}),
        json!(["routable_message"]),
    ] {
        let posted = h.post_body(MODEL_Y, body.clone()).await;
        assert_eq!(posted.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(posted.body["error"], "invalid_request", "{body}");
    }
    let posted = h.post(MODEL_Y, b"\xff\xff\xff").await;
    assert_eq!(posted.status, StatusCode::OK);
    let reply =
        crate::tesla::command::messages::RoutableMessage::decode(posted.reply.as_slice()).unwrap();
    assert_eq!(
        reply.signed_message_status.unwrap().signed_message_fault,
        MessageFault::Decoding as i32
    );
    assert_eq!(h.sim.signed_stats(MODEL_Y).rejected, 1);
    assert_eq!(
        h.post(MODEL_S.replace('5', "9").as_str(), b"\x01")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn keys_are_paired_and_unpaired_over_the_control_api() {
    let h = Harness::start().await;
    let key = Arc::new(KeyPair::generate());
    let hex_key = hex::encode(key.public_key());
    let (status, view) = h
        .control(
            Method::POST,
            &format!("/sim/vehicles/{MODEL_Y}/keys"),
            Some(json!({ "public_key": hex_key })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["paired_keys"], json!([hex_key]));

    let mut info = Signer::new(key.clone(), MODEL_Y, Domain::Infotainment).unwrap();
    h.handshake(&mut info).await.unwrap();
    h.run(&mut info, &Command::FlashLights).await.unwrap();

    let (status, view) = h
        .control(
            Method::DELETE,
            &format!("/sim/vehicles/{MODEL_Y}/keys/{hex_key}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["paired_keys"], json!([]));
    let err = h.run(&mut info, &Command::FlashLights).await.unwrap_err();
    assert!(err.is_key_not_paired(), "{err}");

    for (vin, body, want) in [
        (
            MODEL_Y,
            json!({"public_key": "04abcd"}),
            StatusCode::BAD_REQUEST,
        ),
        (MODEL_Y, json!({"key": hex_key}), StatusCode::BAD_REQUEST),
        (
            MODEL_S,
            json!({"public_key": hex_key}),
            StatusCode::CONFLICT,
        ),
        (
            "NOPE",
            json!({"public_key": hex_key}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, answer) = h
            .control(
                Method::POST,
                &format!("/sim/vehicles/{vin}/keys"),
                Some(body),
            )
            .await;
        assert_eq!(status, want, "{vin}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
}

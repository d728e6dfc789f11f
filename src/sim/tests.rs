//! End-to-end tests: the real router on `127.0.0.1:0`, spoken to over loopback with reqwest, with a
//! manual clock so nothing sleeps.

use std::time::{Duration, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::*;

const START_SECS: u64 = 1_700_000_000;
const MODEL_Y: &str = "7SAYGDEE1NA000001";
const MODEL_S: &str = "5YJSA1E2XJF000002";

fn manual() -> SimConfig {
    SimConfig {
        clock: Clock::manual(UNIX_EPOCH + Duration::from_secs(START_SECS)),
        ..SimConfig::default()
    }
}

/// A simulator on a loopback port with a signed-in client; `signed_tests` builds on it too.
pub(super) struct Harness {
    pub(super) sim: Sim,
    pub(super) base: String,
    pub(super) http: reqwest::Client,
    /// A valid access token from a first refresh.
    pub(super) token: String,
    /// The refresh token that came with `token`.
    refresh: String,
    shutdown: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// What a request came back with.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

impl Harness {
    pub(super) async fn start(cfg: SimConfig) -> Harness {
        let sim = Sim::new(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        tokio::spawn(sim.clone().serve(listener, shutdown.clone()));
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut h = Harness {
            sim,
            base,
            http,
            token: String::new(),
            refresh: String::new(),
            shutdown,
        };
        let rt = h.sim.issue_refresh_token();
        let tokens = h.refresh_with(&rt).await;
        assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
        h.token = tokens.json()["access_token"].as_str().unwrap().to_string();
        h.refresh = tokens.json()["refresh_token"].as_str().unwrap().to_string();
        h
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        Answer {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        }
    }

    async fn refresh_with(&self, refresh_token: &str) -> Answer {
        let resp = self
            .http
            .post(format!("{}/oauth2/v3/token", self.base))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "teslasync-demo-client"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    async fn get_as(&self, path: &str, token: &str) -> Answer {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.get_as(path, &self.token).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    async fn command(&self, vin: &str, name: &str, body: Value) -> Answer {
        self.post(&format!("/api/1/vehicles/{vin}/command/{name}"), body)
            .await
    }

    /// A control-API request (no bearer token); `body` is sent as JSON when given.
    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    fn state(&self, vin: &str) -> String {
        self.sim.vehicle_json(vin).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn advance(&self, secs: u64) {
        self.sim.advance(Duration::from_secs(secs)).unwrap();
    }
}

#[tokio::test]
async fn refresh_rotates_tokens_and_revokes_the_old_ones() {
    let h = Harness::start(manual()).await;
    let old_access = h.token.clone();
    assert!(h.refresh.starts_with("NA_"));
    assert_eq!(h.get("/api/1/vehicles").await.status, StatusCode::OK);

    let second = h.refresh_with(&h.refresh).await;
    assert_eq!(second.status, StatusCode::OK);
    let body = second.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 8 * 3600);
    assert_eq!(body["id_token"].as_str().unwrap().split('.').count(), 3);
    let new_access = body["access_token"].as_str().unwrap();

    let reused = h.refresh_with(&h.refresh).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused.json()["error"], "login_required");
    assert_eq!(reused.json()["error_description"], "Login required");
    assert!(reused.json()["error_uri"].is_string());

    let revoked = h.get_as("/api/1/vehicles", &old_access).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(revoked.json(), json!({"error": "invalid bearer token"}));
    assert_eq!(
        h.get_as("/api/1/vehicles", new_access).await.status,
        StatusCode::OK
    );
    // Three token requests so far (start-up, rotation, reuse); none of them billed.
    let billing = h.sim.billing();
    assert_eq!(billing.token_refreshes, 3);
    assert_eq!(billing.usd, 0.0);
}

#[tokio::test]
async fn access_token_expires_by_the_simulator_clock() {
    let h = Harness::start(manual()).await;
    h.advance(8 * 3600 - 1);
    assert_eq!(h.get("/api/1/vehicles").await.status, StatusCode::OK);
    h.advance(1);
    let expired = h.get("/api/1/vehicles").await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.json(), json!({"error": "token expired (401)"}));
    // The refresh token outlives its access token.
    assert_eq!(h.refresh_with(&h.refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_takes_forms_and_refresh_grants_only() {
    let h = Harness::start(manual()).await;
    let url = format!("{}/oauth2/v3/token", h.base);
    let json_body = h
        .http
        .post(&url)
        .json(&json!({"grant_type": "refresh_token", "client_id": "teslasync-demo-client", "refresh_token": h.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);

    let grant = h
        .http
        .post(&url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", "teslasync-demo-client"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::BAD_REQUEST);
    let body: Value = grant.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");

    let wrong_secret = h
        .http
        .post(&url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "teslasync-demo-client"),
            ("client_secret", "wrong"),
            ("refresh_token", h.refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), StatusCode::BAD_REQUEST);
    let body: Value = wrong_secret.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    // None of this consumed the refresh token.
    assert_eq!(h.refresh_with(&h.refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn fleet_api_requires_a_bearer_token() {
    let h = Harness::start(manual()).await;
    let resp = h
        .http
        .get(format!("{}/api/1/vehicles", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"error": "invalid bearer token"})
    );
    assert_eq!(
        h.get_as("/api/1/vehicles", "not-a-token").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn vehicle_list_and_vehicle_have_teslas_shape() {
    let h = Harness::start(manual()).await;
    let list = h.get("/api/1/vehicles").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(list.headers["x-txid"].to_str().unwrap().len(), 32);
    let body = list.json();
    assert_eq!(body["count"], 2);
    assert_eq!(body["pagination"]["count"], 2);
    assert_eq!(body["pagination"]["next"], Value::Null);
    let cars = body["response"].as_array().unwrap();
    assert_eq!(cars[0]["vin"], MODEL_Y);
    assert_eq!(cars[0]["command_signing"], "required");
    assert_eq!(cars[0]["display_name"], "Midnight");
    assert_eq!(cars[1]["vin"], MODEL_S);
    assert_eq!(cars[1]["command_signing"], "off");
    assert_eq!(cars[1]["state"], "online");
    assert_eq!(cars[1]["id_s"], cars[1]["id"].as_u64().unwrap().to_string());

    let one = h.get(&format!("/api/1/vehicles/{MODEL_S}")).await;
    assert_eq!(one.json()["response"]["display_name"], "Red Rocket");
    let paged = h.get("/api/1/vehicles?page=2&per_page=1").await.json();
    assert_eq!(paged["response"][0]["vin"], MODEL_S);
    assert_eq!(paged["pagination"]["previous"], 1);

    let missing = h.get("/api/1/vehicles/5YJSA1E2XJF999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({"response": null, "error": "not_found", "error_description": ""})
    );
}

#[tokio::test]
async fn idle_car_sleeps_after_inactivity_but_not_while_charging() {
    let h = Harness::start(manual()).await;
    h.sim.act(MODEL_S, "plug_in").unwrap();
    h.advance(10 * 60);
    // Reading the list does not keep a car awake; vehicle_data does.
    assert_eq!(h.get("/api/1/vehicles").await.status, StatusCode::OK);
    assert_eq!(
        h.get(&format!("/api/1/vehicles/{MODEL_Y}/vehicle_data"))
            .await
            .status,
        StatusCode::OK
    );
    h.advance(10 * 60);
    assert_eq!(h.state(MODEL_Y), "online");
    h.advance(5 * 60 - 1);
    assert_eq!(h.state(MODEL_Y), "online");
    h.advance(1);
    assert_eq!(h.state(MODEL_Y), "asleep");
    let list = h.get("/api/1/vehicles").await.json();
    assert_eq!(list["response"][0]["state"], "asleep");

    // 25 minutes in, the plugged-in Model S is still charging and awake, and has gained charge.
    let s = h.sim.vehicle_json(MODEL_S).unwrap();
    assert_eq!(s["state"], "online");
    assert_eq!(s["charging_state"], "Charging");
    assert_eq!(s["charger_power"], 11);
    assert!(s["battery_level"].as_u64().unwrap() > 58);
}

#[tokio::test]
async fn wake_up_brings_an_asleep_car_online_after_the_wake_delay() {
    let h = Harness::start(SimConfig {
        initial_state: SimState::Asleep,
        ..manual()
    })
    .await;
    let path = format!("/api/1/vehicles/{MODEL_S}/wake_up");
    let woke = h.post(&path, json!({})).await;
    assert_eq!(woke.status, StatusCode::OK);
    assert_eq!(woke.json()["response"]["state"], "asleep");
    h.advance(4);
    assert_eq!(
        h.get(&format!("/api/1/vehicles/{MODEL_S}")).await.json()["response"]["state"],
        "asleep"
    );
    // Still waking: data is refused.
    let early = h
        .get(&format!("/api/1/vehicles/{MODEL_S}/vehicle_data"))
        .await;
    assert_eq!(early.status, StatusCode::REQUEST_TIMEOUT);
    h.advance(1);
    assert_eq!(
        h.get(&format!("/api/1/vehicles/{MODEL_S}")).await.json()["response"]["state"],
        "online"
    );
    // Online since the wake completed: asleep again 15 minutes later.
    h.advance(15 * 60 - 1);
    assert_eq!(h.state(MODEL_S), "online");
    h.advance(1);
    assert_eq!(h.state(MODEL_S), "asleep");

    let billing = h.sim.billing();
    assert_eq!(billing.wakes, 1);
    assert_eq!(billing.by_vin[MODEL_S].wakes, 1);
    assert_eq!(billing.by_vin[MODEL_S].data_while_asleep, 1);
}

#[tokio::test]
async fn offline_car_ignores_wake_up() {
    let h = Harness::start(SimConfig {
        initial_state: SimState::Offline,
        ..manual()
    })
    .await;
    let woke = h
        .post(&format!("/api/1/vehicles/{MODEL_S}/wake_up"), json!({}))
        .await;
    assert_eq!(woke.json()["response"]["state"], "offline");
    h.advance(3600);
    assert_eq!(h.state(MODEL_S), "offline");
}

#[tokio::test]
async fn asleep_car_answers_408_and_is_still_billed() {
    let h = Harness::start(manual()).await;
    h.sim.act(MODEL_S, "sleep").unwrap();
    let data = h
        .get(&format!("/api/1/vehicles/{MODEL_S}/vehicle_data"))
        .await;
    assert_eq!(data.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        data.json(),
        json!({"response": null, "error": "vehicle unavailable: vehicle is offline or asleep", "error_description": ""})
    );
    let cmd = h.command(MODEL_S, "door_lock", json!({})).await;
    assert_eq!(cmd.status, StatusCode::REQUEST_TIMEOUT);
    // Neither request woke the car.
    assert_eq!(h.state(MODEL_S), "asleep");

    let billing = h.sim.billing();
    let s = &billing.by_vin[MODEL_S];
    assert_eq!((s.data, s.data_while_asleep), (1, 1));
    assert_eq!((s.commands, s.commands_while_asleep), (1, 1));
    assert_eq!(s.wakes, 0);
    assert!((billing.usd - 0.003).abs() < 1e-9);
}

#[tokio::test]
async fn vehicle_data_returns_requested_blocks_and_location_only_on_request() {
    let h = Harness::start(manual()).await;
    let base = format!("/api/1/vehicles/{MODEL_Y}/vehicle_data");

    let default = h.get(&base).await.json()["response"].clone();
    for block in [
        "charge_state",
        "climate_state",
        "drive_state",
        "gui_settings",
        "vehicle_config",
        "vehicle_state",
    ] {
        assert!(default[block].is_object(), "missing {block}");
    }
    assert!(default["drive_state"].get("latitude").is_none());
    assert!(default["drive_state"].get("heading").is_none());
    assert_eq!(default["vin"], MODEL_Y);
    assert_eq!(default["state"], "online");

    let some = h
        .get(&format!("{base}?endpoints=charge_state%3Bdrive_state"))
        .await;
    let some = some.json()["response"].clone();
    assert!(some["charge_state"].is_object());
    assert!(some.get("climate_state").is_none());
    assert!(some["drive_state"].get("latitude").is_none());
    assert_eq!(some["charge_state"]["timestamp"], (START_SECS * 1000));
    assert_eq!(some["charge_state"]["charge_limit_soc"], 80);
    assert_eq!(some["charge_state"]["charge_current_request_max"], 32);

    let located = h
        .get(&format!("{base}?endpoints=drive_state;location_data"))
        .await
        .json()["response"]["drive_state"]
        .clone();
    let lat = located["latitude"].as_f64().unwrap();
    let lon = located["longitude"].as_f64().unwrap();
    assert!((35.0..72.0).contains(&lat) && (-25.0..45.0).contains(&lon));
    assert!(located["heading"].is_u64());

    let unknown = h
        .get(&format!("{base}?endpoints=charge_state;fuel_state"))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.json()["error"], "invalid_command");
}

#[tokio::test]
async fn door_commands_change_the_car() {
    let h = Harness::start(manual()).await;
    assert_eq!(h.sim.vehicle_json(MODEL_S).unwrap()["locked"], true);
    let unlock = h.command(MODEL_S, "door_unlock", json!({})).await;
    assert_eq!(unlock.status, StatusCode::OK);
    assert_eq!(
        unlock.json(),
        json!({"response": {"result": true, "reason": ""}})
    );
    assert_eq!(h.sim.vehicle_json(MODEL_S).unwrap()["locked"], false);
    let data = h
        .get(&format!(
            "/api/1/vehicles/{MODEL_S}/vehicle_data?endpoints=vehicle_state"
        ))
        .await
        .json();
    assert_eq!(data["response"]["vehicle_state"]["locked"], false);

    h.command(MODEL_S, "set_charge_limit", json!({"percent": 90}))
        .await;
    h.command(MODEL_S, "auto_conditioning_start", json!({}))
        .await;
    let view = h.sim.vehicle_json(MODEL_S).unwrap();
    assert_eq!(view["charge_limit_soc"], 90);
    assert_eq!(view["is_climate_on"], true);
}

#[tokio::test]
async fn commands_report_teslas_reasons() {
    let h = Harness::start(manual()).await;
    let reason = |a: &Answer| a.json()["response"]["reason"].as_str().unwrap().to_string();

    let on = json!({"on": true});
    assert_eq!(
        reason(&h.command(MODEL_S, "set_sentry_mode", on.clone()).await),
        ""
    );
    let again = h.command(MODEL_S, "set_sentry_mode", on).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.json(),
        json!({"response": {"result": false, "reason": "already_set"}})
    );

    assert_eq!(
        reason(&h.command(MODEL_S, "charge_start", json!({})).await),
        "disconnected"
    );
    assert_eq!(
        reason(&h.command(MODEL_S, "charge_stop", json!({})).await),
        "not_charging"
    );
    assert_eq!(
        reason(
            &h.command(MODEL_S, "set_charge_limit", json!({"percent": 101}))
                .await
        ),
        "invalid percent param"
    );
    assert_eq!(
        reason(&h.command(MODEL_S, "actuate_trunk", json!({})).await),
        "invalid which_trunk param"
    );

    let unknown = h.command(MODEL_S, "launch_rocket", json!({})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.json(),
        json!({"response": null, "error": "invalid_command", "error_description": ""})
    );
}

#[tokio::test]
async fn signing_required_car_rejects_rest_commands() {
    let h = Harness::start(manual()).await;
    let refused = h.command(MODEL_Y, "door_unlock", json!({})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json(),
        json!({
            "response": null,
            "error": "Tesla Vehicle Command Protocol required, please refer to the documentation here: https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning",
            "error_description": ""
        })
    );
    assert_eq!(h.sim.vehicle_json(MODEL_Y).unwrap()["locked"], true);
    assert_eq!(h.sim.billing().by_vin[MODEL_Y].commands, 1);

    // The signed path (sim::signed_tests): 422 for the REST-only car whatever the body; an empty
    // message is a malformed body for the car that takes it.
    let signed = |vin: &str| format!("/api/1/vehicles/{vin}/signed_command");
    let body = json!({"routable_message": ""});
    assert_eq!(
        h.post(&signed(MODEL_S), body.clone()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        h.post(&signed(MODEL_Y), body).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn billing_counts_by_category_and_costs_teslas_rates() {
    let h = Harness::start(manual()).await;
    h.get("/api/1/vehicles").await;
    h.get(&format!("/api/1/vehicles/{MODEL_S}")).await;
    h.get(&format!("/api/1/vehicles/{MODEL_S}/vehicle_data"))
        .await;
    h.get(&format!("/api/1/vehicles/{MODEL_Y}/vehicle_data"))
        .await;
    h.command(MODEL_S, "flash_lights", json!({})).await;
    h.post(&format!("/api/1/vehicles/{MODEL_S}/wake_up"), json!({}))
        .await;
    // A 401 is billed too (in its category).
    h.get_as(&format!("/api/1/vehicles/{MODEL_S}/vehicle_data"), "bad")
        .await;
    // Control API requests are never billed.
    h.control(reqwest::Method::GET, "/sim/billing", None).await;

    let b = h.sim.billing();
    assert_eq!((b.data, b.commands, b.wakes), (3, 1, 1));
    // Two free reads plus the start-up token request.
    assert_eq!(b.free, 3);
    assert_eq!(b.token_refreshes, 1);
    assert!((b.usd - (3.0 * 0.002 + 0.001 + 0.02)).abs() < 1e-9);
    assert_eq!(b.by_vin[MODEL_S].data, 2);
    assert_eq!(b.by_vin[MODEL_Y].data, 1);
    assert_eq!(b.by_vin[MODEL_S].commands, 1);

    let over_http = h.control(reqwest::Method::GET, "/sim/billing", None).await;
    let over_http: Billing = serde_json::from_value(over_http.json()).unwrap();
    assert_eq!(over_http, b);
}

#[tokio::test]
async fn faults_replace_answers_for_the_next_matching_requests() {
    let h = Harness::start(manual()).await;
    let fault =
        json!({"status": 429, "retry_after": 42, "count": 2, "path_contains": "vehicle_data"});
    let inject = h
        .control(reqwest::Method::POST, "/sim/faults", Some(fault))
        .await;
    assert_eq!(inject.status, StatusCode::OK);
    assert_eq!(inject.json()["pending"], 2);

    // Other paths and the control API pass untouched.
    assert_eq!(h.get("/api/1/vehicles").await.status, StatusCode::OK);
    assert!(h.sim.vehicle_json(MODEL_S).is_some());

    let path = format!("/api/1/vehicles/{MODEL_S}/vehicle_data");
    for _ in 0..2 {
        let limited = h.get(&path).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers["retry-after"], "42");
        assert_eq!(limited.text, "Retry in 42 seconds\n");
        assert!(limited.headers.contains_key("x-txid"));
    }
    assert_eq!(h.get(&path).await.status, StatusCode::OK);

    // 5xx answers are not billed; 429s are.
    h.sim.inject_fault(Fault {
        status: 503,
        ..Fault::default()
    });
    let unavailable = h.get(&path).await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(unavailable.json()["response"], Value::Null);
    assert_eq!(h.sim.billing().by_vin[MODEL_S].data, 3);

    // A dropped request reaches the client as a transport error.
    h.sim.inject_fault(Fault {
        drop: true,
        ..Fault::default()
    });
    let dropped = h
        .http
        .get(format!("{}{path}", h.base))
        .bearer_auth(&h.token)
        .send()
        .await;
    let failed = match dropped {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "a dropped request must fail");
    assert_eq!(h.sim.billing().by_vin[MODEL_S].data, 3);

    // Latency alone delays the request, which is then served normally.
    h.sim.inject_fault(Fault {
        latency_ms: Some(1),
        ..Fault::default()
    });
    assert_eq!(h.get(&path).await.status, StatusCode::OK);
    assert_eq!(h.sim.billing().by_vin[MODEL_S].data, 4);

    let invalid = h
        .control(
            reqwest::Method::POST,
            "/sim/faults",
            Some(json!({"count": 1})),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn control_api_drives_the_simulation() {
    use reqwest::Method;
    let h = Harness::start(manual()).await;

    let all = h.control(Method::GET, "/sim/vehicles", None).await.json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[1]["vin"], MODEL_S);
    assert_eq!(all[1]["model"], "Model S");
    assert_eq!(all[1]["year"], 2018);

    let fly = format!("/sim/vehicles/{MODEL_S}/fly");
    let unknown = h.control(Method::POST, &fly, None).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let message = unknown.json()["error"].as_str().unwrap().to_string();
    for action in ["sleep", "wake", "drive", "park", "plug_in", "unplug"] {
        assert!(message.contains(action), "{message}");
    }
    let missing = h
        .control(Method::POST, "/sim/vehicles/NOPE/sleep", None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let drive = format!("/sim/vehicles/{MODEL_S}/drive");
    let driving = h.control(Method::POST, &drive, None).await.json();
    assert_eq!(driving["driving"], true);
    let start_odo = driving["odometer"].as_f64().unwrap();
    let start_lat = driving["latitude"].as_f64().unwrap();

    let advanced = h
        .control(
            Method::POST,
            "/sim/clock/advance",
            Some(json!({"secs": 3600})),
        )
        .await;
    assert_eq!(advanced.status, StatusCode::OK);
    assert_eq!(advanced.json()["now"], START_SECS + 3600);

    // An hour at 40 mph, and the car never fell asleep while driving.
    let after = h.sim.vehicle_json(MODEL_S).unwrap();
    assert_eq!(after["state"], "online");
    assert!((after["odometer"].as_f64().unwrap() - start_odo - 40.0).abs() < 1e-3);
    assert_ne!(after["latitude"].as_f64().unwrap(), start_lat);
    assert_eq!(after["vehicle_data"]["drive_state"]["shift_state"], "D");
    // Plugging in while driving is refused; parked it is fine and starts a charge.
    assert!(matches!(
        h.sim.act(MODEL_S, "plug_in"),
        Err(SimError::Refused(_))
    ));
    h.sim.act(MODEL_S, "park").unwrap();
    h.sim.act(MODEL_S, "plug_in").unwrap();
    assert_eq!(
        h.sim.vehicle_json(MODEL_S).unwrap()["charging_state"],
        "Charging"
    );
    h.sim.act(MODEL_S, "unplug").unwrap();
    h.sim.act(MODEL_S, "sleep").unwrap();
    assert_eq!(h.state(MODEL_S), "asleep");
    h.sim.act(MODEL_S, "wake").unwrap();
    assert_eq!(h.state(MODEL_S), "online");
}

#[tokio::test]
async fn clock_advance_is_refused_on_the_system_clock() {
    let h = Harness::start(SimConfig::default()).await;
    let resp = h
        .control(
            reqwest::Method::POST,
            "/sim/clock/advance",
            Some(json!({"secs": 60})),
        )
        .await;
    assert_eq!(resp.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn more_cars_alternate_models() {
    let sim = Sim::new(SimConfig {
        vehicles: 5,
        ..manual()
    });
    let vins = sim.vins();
    assert_eq!(vins.len(), 5);
    assert_eq!(&vins[..2], &[MODEL_Y, MODEL_S]);
    assert_eq!(vins[4], "7SAYGDEE1NA000005");
    assert_eq!(
        sim.vehicle_json(&vins[3]).unwrap()["command_signing"],
        "off"
    );
}

// ── Sign-in, regions, partner accounts ─────────────────────────────────────────────────────────

/// A browser that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the authorize page like a browser would; returns the redirect's query pairs.
async fn authorize(h: &Harness, redirect: &str, granted: &[&str]) -> Vec<(String, String)> {
    let query = format!(
        "response_type=code&client_id=teslasync-demo-client&redirect_uri={}&scope={}&state=xyz",
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(SCOPES.join(" ").as_bytes()).collect::<String>(),
    );
    let page = h
        .control(
            reqwest::Method::GET,
            &format!("/oauth2/v3/authorize?{query}"),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("value=\"vehicle_cmds\" checked"));
    let answer = no_redirects()
        .post(format!("{}/oauth2/v3/authorize?{query}", h.base))
        .form(&approve_form(granted))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(redirect), "{location}");
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn exchange(h: &Harness, code: &str, redirect: &str) -> Answer {
    let resp = h
        .http
        .post(format!("{}/oauth2/v3/token", h.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "teslasync-demo-client"),
            ("client_secret", "teslasync-demo-secret"),
            ("code", code),
            ("redirect_uri", redirect),
            ("audience", "https://fleet-api.prd.na.vn.cloud.tesla.com"),
        ])
        .send()
        .await
        .unwrap();
    Harness::answer(resp).await
}

fn claims(access_token: &str) -> Value {
    use base64::Engine as _;
    let part = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn authorize_page_issues_single_use_codes_bound_to_the_redirect_uri() {
    let h = Harness::start(manual()).await;
    let redirect = "http://127.0.0.1:9/api/v1/auth/callback";
    let back = authorize(
        &h,
        redirect,
        &["openid", "offline_access", "vehicle_device_data"],
    )
    .await;
    let get = |k: &str| back.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("xyz"));
    let code = get("code").unwrap();
    assert!(code.starts_with("NA_"), "{code}");

    let wrong_redirect = exchange(&h, &code, "http://127.0.0.1:9/other").await;
    assert_eq!(wrong_redirect.json()["error"], "invalid_redirect_url");
    let tokens = exchange(&h, &code, redirect).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let access = tokens.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        claims(&access)["scp"],
        json!(["openid", "offline_access", "vehicle_device_data"]),
        "the token carries only what the user ticked"
    );
    assert!(tokens.json()["refresh_token"].is_string());
    assert_eq!(
        h.get_as("/api/1/vehicles", &access).await.status,
        StatusCode::OK
    );

    let reused = exchange(&h, &code, redirect).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.json()["error"], "invalid_auth_code");

    // Denied consent goes back with an error and no code.
    let query = format!(
        "response_type=code&client_id=teslasync-demo-client&redirect_uri={}&scope=openid&state=s2",
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let denied = no_redirects()
        .post(format!("{}/oauth2/v3/authorize?{query}", h.base))
        .form(&[("decision", "deny")])
        .send()
        .await
        .unwrap();
    let location = denied.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=access_denied") && !location.contains("code="));
    // An unknown client never redirects anywhere.
    let unknown = h
        .control(
            reqwest::Method::GET,
            "/oauth2/v3/authorize?response_type=code&client_id=nope&redirect_uri=http%3A%2F%2Fx&scope=openid&state=s",
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn codes_expire_and_need_the_client_secret() {
    let h = Harness::start(manual()).await;
    let redirect = "http://127.0.0.1:9/cb";
    let back = authorize(&h, redirect, &SCOPES).await;
    let code = back.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let no_secret = h
        .http
        .post(format!("{}/oauth2/v3/token", h.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "teslasync-demo-client"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("audience", "https://fleet-api.prd.na.vn.cloud.tesla.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_secret.status(), StatusCode::BAD_REQUEST);
    h.advance(10 * 60);
    let late = exchange(&h, &code, redirect).await;
    assert_eq!(late.json()["error"], "invalid_auth_code");
}

async fn partner_token(h: &Harness) -> String {
    let resp = h
        .http
        .post(format!("{}/oauth2/v3/token", h.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "teslasync-demo-client"),
            ("client_secret", "teslasync-demo-secret"),
            ("audience", "https://fleet-api.prd.na.vn.cloud.tesla.com"),
            (
                "scope",
                "openid vehicle_device_data vehicle_cmds vehicle_charging_cmds",
            ),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "partner tokens do not refresh"
    );
    body["access_token"].as_str().unwrap().to_string()
}

/// Serves `pem` at the `.well-known` path on a loopback port; returns the base URL.
async fn key_server(pem: String) -> (String, CancellationToken) {
    let app = axum::Router::new().route(
        WELL_KNOWN_PATH,
        axum::routing::get(move || {
            let pem = pem.clone();
            async move { pem }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(s.cancelled_owned())
            .await
    });
    (base, stop)
}

#[tokio::test]
async fn partner_registration_fetches_the_key_and_answers_412_when_it_cannot() {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let h = Harness::start(manual()).await;
    let partner = partner_token(&h).await;
    let register = |token: String, domain: &'static str| {
        let req = h
            .http
            .post(format!("{}/api/1/partner_accounts", h.base))
            .bearer_auth(token)
            .json(&json!({ "domain": domain }));
        async move { Harness::answer(req.send().await.unwrap()).await }
    };
    // A user token is not enough.
    assert_eq!(
        register(h.token.clone(), "app.example.com").await.status,
        StatusCode::FORBIDDEN
    );
    let unreachable = register(partner.clone(), "app.example.com").await;
    assert_eq!(unreachable.status, StatusCode::PRECONDITION_FAILED);
    assert!(unreachable.json()["error"]
        .as_str()
        .unwrap()
        .contains("https://app.example.com/.well-known/appspecific/com.tesla.3p.public-key.pem"));

    let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = key.public_key().to_public_key_pem(LineEnding::LF).unwrap();
    let (base, _stop) = key_server(pem).await;
    h.sim.serve_domain("app.example.com", &base);
    let ok = register(partner.clone(), "app.example.com").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let hex_key = hex::encode(key.public_key().to_encoded_point(false).as_bytes());
    assert_eq!(ok.json()["response"]["public_key"], json!(hex_key));
    assert_eq!(h.sim.registered_key(SimRegion::Na), Some(hex_key.clone()));

    let recorded = h
        .http
        .get(format!(
            "{}/api/1/partner_accounts/public_key?domain=app.example.com",
            h.base
        ))
        .bearer_auth(&partner)
        .send()
        .await
        .unwrap();
    let body: Value = recorded.json().await.unwrap();
    assert_eq!(body["response"]["public_key"], json!(hex_key));

    // Pairing enrols the registered key; fleet_status reports it per VIN.
    assert!(
        h.sim.pair_app_key(MODEL_S).is_err(),
        "a 2018 Model S cannot pair"
    );
    h.sim.pair_app_key(MODEL_Y).unwrap();
    let status = h
        .post(
            "/api/1/vehicles/fleet_status",
            json!({"vins": [MODEL_Y, MODEL_S]}),
        )
        .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text);
    let r = &status.json()["response"];
    assert_eq!(r["key_paired_vins"], json!([MODEL_Y]));
    assert_eq!(r["unpaired_vins"], json!([MODEL_S]));
    assert_eq!(
        r["vehicle_info"][MODEL_Y]["vehicle_command_protocol_required"],
        true
    );
    assert_eq!(
        r["vehicle_info"][MODEL_S]["vehicle_command_protocol_required"],
        false
    );
    assert_eq!(
        r["vehicle_info"][MODEL_Y]["firmware_version"],
        "2024.44.25.1"
    );
}

#[tokio::test]
async fn regional_listeners_answer_421_and_users_region_names_the_right_one() {
    let cfg = SimConfig {
        region: SimRegion::Eu,
        ..manual()
    };
    let h = Harness::start(cfg).await;
    // A second listener serving NA, sharing the world; the harness's own listener stays agnostic.
    let na = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let na_base = format!("http://{}", na.local_addr().unwrap());
    let eu = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let eu_base = format!("http://{}", eu.local_addr().unwrap());
    h.sim.set_region_url(SimRegion::Na, &na_base);
    h.sim.set_region_url(SimRegion::Eu, &eu_base);
    for (listener, region) in [(na, SimRegion::Na), (eu, SimRegion::Eu)] {
        let app = h.sim.router_for_region(region);
        let stop = h.shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
    }
    assert_eq!(claims(&h.token)["ou_code"], "EU");
    let wrong = h
        .http
        .get(format!("{na_base}/api/1/vehicles"))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::MISDIRECTED_REQUEST);
    let body: Value = wrong.json().await.unwrap();
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains(&format!("use base URL: {eu_base},")));
    let right = h
        .http
        .get(format!("{eu_base}/api/1/users/region"))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap();
    let body: Value = right.json().await.unwrap();
    assert_eq!(
        body["response"],
        json!({"region": "eu", "fleet_api_base_url": eu_base})
    );
    assert_eq!(h.sim.misdirected(), 1);
    // The token host answers on every listener.
    let token = h
        .http
        .post(format!("{na_base}/oauth2/v3/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "teslasync-demo-client"),
            ("refresh_token", h.refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoking_consent_kills_every_token() {
    let h = Harness::start(manual()).await;
    let revoke = h
        .control(reqwest::Method::POST, "/sim/tokens/revoke", None)
        .await;
    assert_eq!(revoke.status, StatusCode::OK);
    assert_eq!(
        h.get("/api/1/vehicles").await.status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = h.refresh_with(&h.refresh).await;
    assert_eq!(refresh.json()["error"], "login_required");
    assert!(h.sim.issued_secrets().contains(&h.refresh));
}

/// `initial_soc` starts every car at the same charge (the simulated day's equal days), and a car at
/// its limit that is plugged in has nothing to charge.
#[tokio::test]
async fn every_car_can_start_at_one_state_of_charge() {
    let h = Harness::start(SimConfig {
        initial_soc: Some(80.0),
        ..manual()
    })
    .await;
    for vin in [MODEL_Y, MODEL_S] {
        assert_eq!(h.sim.vehicle_json(vin).unwrap()["battery_level"], 80);
    }
    h.sim.act(MODEL_S, "plug_in").unwrap();
    h.advance(60);
    let s = h.sim.vehicle_json(MODEL_S).unwrap();
    assert_eq!(s["charging_state"], "Complete");
    assert_eq!(s["battery_level"], 80);
}

//! The test harness itself: each test's broker is private, holds nothing after the test, and a
//! password-protected one refuses anonymous clients.

mod common;

use std::time::Duration;

use common::*;
use rumqttc::{AsyncClient, ConnectReturnCode, Event, Packet, QoS};

/// Connects to `broker` and returns the CONNACK code (or the connection error's text).
async fn connack(broker: &Broker, credentials: Option<(&str, &str)>) -> Result<(), String> {
    let mut opts = broker.options(&unique("harness"));
    if let Some((u, p)) = credentials {
        opts.set_credentials(u, p);
    }
    let (_client, mut eventloop) = AsyncClient::new(opts, 10);
    loop {
        match tokio::time::timeout(TIMEOUT, eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                return match ack.code {
                    ConnectReturnCode::Success => Ok(()),
                    code => Err(format!("{code:?}")),
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => panic!("no CONNACK within {TIMEOUT:?}"),
        }
    }
}

#[tokio::test]
async fn a_private_broker_keeps_nothing_after_its_test() {
    let broker = Broker::start();
    let addr = broker.addr();
    assert_ne!(broker.port(), 1883, "never the developer's own broker");
    let probe = Probe::start(&broker, &["harness/#".to_string()]).await;
    probe
        .client
        .publish("harness/kept", QoS::AtLeastOnce, true, "1")
        .await
        .unwrap();
    probe.wait_text("harness/kept", "1").await;
    drop(probe);
    drop(broker);
    // The process is gone (killed and reaped in Drop): nothing listens on its port any more.
    assert!(
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1))
            .is_err(),
        "the broker on {addr} still answers after its last handle was dropped"
    );
}

#[tokio::test]
async fn a_broker_with_a_login_refuses_anonymous_clients() {
    let broker = Broker::with_login(Login {
        username: "homeassistant",
        password: "s3cret pass",
    });
    assert!(connack(&broker, None).await.is_err());
    assert!(connack(&broker, Some(("homeassistant", "wrong")))
        .await
        .is_err());
    connack(&broker, Some(("homeassistant", "s3cret pass")))
        .await
        .unwrap();
}

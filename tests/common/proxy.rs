//! A reverse proxy on loopback, as users put in front of TeslaSync (or Home Assistant's ingress).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

/// A reverse proxy on loopback: forwards everything to `upstream`, keeps `Host`, adds
/// `X-Forwarded-For`; with `ingress`, strips that path prefix and adds `X-Ingress-Path` as Home
/// Assistant's Supervisor does.
#[derive(Clone)]
struct Proxy {
    upstream: url::Url,
    ingress: Option<&'static str>,
    http: reqwest::Client,
}

async fn forward(
    State(proxy): State<Proxy>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if let Some(prefix) = proxy.ingress {
        match path.strip_prefix(prefix) {
            Some(rest) => {
                path = if rest.is_empty() {
                    "/".into()
                } else {
                    rest.into()
                }
            }
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    }
    let url = format!("{}{}", proxy.upstream.as_str().trim_end_matches('/'), path);
    let mut req = proxy.http.request(method, url);
    for (k, v) in &headers {
        if k != "content-length" && k != "connection" {
            req = req.header(k, v);
        }
    }
    req = req.header("x-forwarded-for", peer.ip().to_string());
    if let Some(prefix) = proxy.ingress {
        req = req.header("x-ingress-path", prefix);
    }
    let resp = req.body(body).send().await.unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let mut out = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k != "content-length" && k != "transfer-encoding" && k != "connection" {
            out.append(k, v.clone());
        }
    }
    let body = resp.bytes().await.unwrap();
    (status, out, body).into_response()
}

/// Starts a proxy to `upstream`; returns its base URL (with the ingress prefix, if any).
pub async fn start_proxy(
    upstream: url::Url,
    ingress: Option<&'static str>,
    stop: &CancellationToken,
) -> url::Url {
    let proxy = Proxy {
        upstream,
        ingress,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap(),
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = stop.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
        .unwrap();
    });
    url::Url::parse(&format!("http://{addr}{}/", ingress.unwrap_or(""))).unwrap()
}

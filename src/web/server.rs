//! `web::server`: the accept loop, with limits that hold slow and hostile clients.
//!
//! `axum::serve` never closes a connection that sends nothing (a half-open or slowloris client holds
//! a socket forever) and accepts without bound. Here every connection gets a deadline for its request
//! headers (also between keep-alive requests, so idle connections close), a cap on its whole
//! lifetime (a client trickling a body or reading a response byte by byte is cut off), and the number
//! of connections at once is bounded: beyond it, new connections are closed at once instead of
//! queueing behind the slow ones.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use tracing::{debug, warn};

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a request's headers, counted from the connection's start or the end of the
    /// previous response (so it is also the keep-alive idle timeout).
    pub header_read: Duration,
    /// Longest life of one connection, however active.
    pub connection: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            connection: Duration::from_secs(120),
            max_connections: 64,
        }
    }
}

/// Serves `app` on `listener` until `shutdown`; open connections get to finish their request.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let tasks = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(error = %e, "web server could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "too many connections; closing a new one");
            drop(stream);
            continue;
        };
        let app = app.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                async move {
                    let resp = app
                        .oneshot(req.map(axum::body::Body::new))
                        .await
                        .unwrap_or_else(|e: Infallible| match e {});
                    Ok::<_, Infallible>(resp)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let deadline = tokio::time::sleep(limits.connection);
            tokio::pin!(deadline);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = &mut deadline => debug!(%peer, "connection lived too long; closed"),
                () = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
    tasks.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), tasks.wait()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Generous: the assertions are that the server closes, not how fast.
    const WAIT: Duration = Duration::from_secs(20);

    async fn start(limits: Limits) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let app = Router::new().route("/", get(|| async { "hello" }));
        tokio::spawn(serve(listener, app, limits, stop.clone()));
        (addr, stop)
    }

    /// Reads until the server closes the connection; panics if it does not within [`WAIT`].
    async fn closed_by_server(stream: &mut TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        tokio::time::timeout(WAIT, stream.read_to_end(&mut got))
            .await
            .expect("the server closes the connection")
            .ok();
        got
    }

    fn short() -> Limits {
        Limits {
            header_read: Duration::from_millis(200),
            connection: Duration::from_secs(2),
            max_connections: 2,
        }
    }

    #[tokio::test]
    async fn a_silent_client_is_disconnected() {
        let (addr, stop) = start(short()).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        closed_by_server(&mut silent).await;
        stop.cancel();
    }

    #[tokio::test]
    async fn a_client_trickling_headers_is_disconnected() {
        let (addr, stop) = start(short()).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let got = closed_by_server(&mut slow).await;
        assert!(!String::from_utf8_lossy(&got).contains("hello"));
        stop.cancel();
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
        let (addr, stop) = start(short()).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let got = closed_by_server(&mut c).await;
        assert!(
            String::from_utf8_lossy(&got).contains("hello"),
            "answered first"
        );
        stop.cancel();
    }

    #[tokio::test]
    async fn connections_beyond_the_bound_are_closed_and_service_resumes() {
        let limits = Limits {
            header_read: Duration::from_secs(600),
            connection: Duration::from_secs(600),
            max_connections: 2,
        };
        let (addr, stop) = start(limits).await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            // A request proves the connection holds a slot (accepted and served).
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 256];
            let n = tokio::time::timeout(WAIT, c.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).contains("hello"));
            held.push(c);
        }
        let mut extra = TcpStream::connect(addr).await.unwrap();
        let _ = extra.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let got = closed_by_server(&mut extra).await;
        assert!(got.is_empty(), "refused without an answer");
        held.clear();
        // The slots free up once the held connections go.
        let answered = tokio::time::timeout(WAIT, async {
            loop {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let mut got = Vec::new();
                let _ = c.read_to_end(&mut got).await;
                if String::from_utf8_lossy(&got).contains("hello") {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(answered.is_ok(), "service resumes");
        stop.cancel();
    }
}

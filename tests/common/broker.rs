//! A private Mosquitto broker per test: a free loopback port, a configuration file in its own temp
//! directory, no persistence. It dies with its last handle (and, through `PR_SET_PDEATHSIG`, with the
//! test process even when that is killed), so no retained message outlives the test and a
//! developer's own broker on 1883 is never touched.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rumqttc::MqttOptions;

/// How long a broker may take to say it is running.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running Mosquitto; clones share it, the last one dropped stops it and removes its files.
#[derive(Clone)]
pub struct Broker(Arc<Process>);

struct Process {
    child: Mutex<Child>,
    port: u16,
    /// Configuration (and password file): removed when the broker stops.
    _dir: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Credentials a broker requires. No `:` in the password: `mosquitto_passwd -U` splits the line there.
pub struct Login<'a> {
    pub username: &'a str,
    pub password: &'a str,
}

impl Broker {
    /// An anonymous broker, as most test set-ups need.
    pub fn start() -> Broker {
        Broker::spawn(None)
    }

    /// A broker that accepts only `login` (anonymous clients are refused), like Home Assistant's
    /// Mosquitto add-on. The password file is made by `mosquitto_passwd -U`, so the password never
    /// appears on a command line.
    pub fn with_login(login: Login<'_>) -> Broker {
        Broker::spawn(Some(login))
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.0.port)
    }

    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// `mqtt://127.0.0.1:<port>`.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("mqtt://{}", self.addr())).unwrap()
    }

    /// Client options for this broker.
    pub fn options(&self, client_id: &str) -> MqttOptions {
        MqttOptions::new(client_id, "127.0.0.1", self.0.port)
    }

    fn spawn(login: Option<Login<'_>>) -> Broker {
        let dir = tempfile::tempdir().expect("a temp dir for the broker");
        let mut auth = "allow_anonymous true\n".to_string();
        if let Some(login) = &login {
            let file = dir.path().join("passwd");
            std::fs::write(&file, format!("{}:{}\n", login.username, login.password)).unwrap();
            let status = Command::new("mosquitto_passwd")
                .arg("-U")
                .arg(&file)
                .status()
                .expect("mosquitto_passwd runs (apt-get install mosquitto)");
            assert!(status.success(), "mosquitto_passwd -U failed");
            auth = format!("allow_anonymous false\npassword_file {}\n", file.display());
        }
        // A port taken between choosing and binding it makes Mosquitto exit: choose again.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = dir.path().join("mosquitto.conf");
            std::fs::write(
                &conf,
                format!(
                    "listener {port} 127.0.0.1\n{auth}persistence false\nlog_dest stderr\n\
                     log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
                ),
            )
            .unwrap();
            match launch(&conf) {
                Ok(child) => {
                    return Broker(Arc::new(Process {
                        child: Mutex::new(child),
                        port,
                        _dir: dir,
                    }))
                }
                Err(e) => last_error = e,
            }
        }
        panic!("mosquitto did not start: {last_error}");
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Mosquitto with `conf` and waits until it logs that it is running (its listener is open by
/// then; it logs to stderr, which is unbuffered); its later log lines are drained so it never blocks on a full pipe.
fn launch(conf: &Path) -> Result<Child, String> {
    let (tx, rx) = mpsc::channel();
    let conf = conf.to_path_buf();
    spawner().send((conf, tx)).unwrap();
    let mut child = rx.recv().unwrap()?;
    let stderr = child.stderr.take().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        let mut ready = Some(ready_tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(tx) = ready.as_ref() {
                log.push_str(&line);
                log.push('\n');
                if line.ends_with(" running") {
                    let _ = tx.send(Ok(()));
                    ready = None;
                }
            }
        }
        if let Some(tx) = ready {
            let _ = tx.send(Err(log));
        }
    });
    match ready_rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(())) => Ok(child),
        Ok(Err(log)) => {
            let _ = child.wait();
            Err(log)
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("not running within {START_TIMEOUT:?}"))
        }
    }
}

type SpawnRequest = (std::path::PathBuf, mpsc::Sender<Result<Child, String>>);

/// One long-lived thread spawns every broker: `PR_SET_PDEATHSIG` fires when the *thread* that forked
/// the child ends, so a test thread (or a tokio blocking thread) must not be the parent.
fn spawner() -> mpsc::Sender<SpawnRequest> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<SpawnRequest>();
            std::thread::Builder::new()
                .name("mosquitto-spawner".into())
                .spawn(move || {
                    for (conf, reply) in rx {
                        let _ = reply.send(spawn_mosquitto(&conf));
                    }
                })
                .unwrap();
            Mutex::new(tx)
        })
        .lock()
        .unwrap()
        .clone()
}

fn spawn_mosquitto(conf: &Path) -> Result<Child, String> {
    let mut cmd = Command::new("mosquitto");
    cmd.arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    cmd.spawn().map_err(|e| {
        format!("cannot run mosquitto ({e}): install it (apt-get install mosquitto) or run `bash .ci/run`")
    })
}

//! The admin API: a Unix socket (mode 0600) served by the management thread, one JSON request per connection.
//!
//! Request: one line of JSON, `{"cmd":"status"}`. Answer: one JSON document, then the server closes the connection.
//! Errors are answered as `{"error":"..."}`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use edgelb_config::desired::DesiredState;
use serde::{Deserialize, Serialize};

/// The largest request read (a desired state with 10,000 Services and 100,000 endpoints is a few tens of MB).
const MAX_REQUEST: u64 = 512 * 1024 * 1024;

/// How long a client waits for the dataplane's answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(300);

/// A request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // one request per connection
pub enum Request {
    /// The status document.
    Status,
    /// Re-read the config file and apply it as SIGHUP does; answers `{"generation": N}` or the reason it was refused.
    Reload,
    /// A whole desired state (from edgelb-control): validated and applied atomically on top of the config file;
    /// answers `{"generation": N, "desired_generation": G, "boot_id": ...}` or the reason it was refused.
    Put { state: DesiredState },
}

/// The listening side, owned by the management thread.
#[derive(Debug)]
pub struct AdminServer {
    listener: UnixListener,
    path: PathBuf,
}

impl AdminServer {
    /// Binds `path` (creating its directory), replacing a stale socket left by a crashed instance but refusing to
    /// take over the socket of a live one.
    pub fn bind(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("admin socket: creating {}", dir.display()))?;
        }
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                bail!(
                    "admin socket {} is in use by a running dataplane; stop it or choose another --admin-socket",
                    path.display()
                );
            }
            std::fs::remove_file(path)
                .with_context(|| format!("admin socket: removing stale {}", path.display()))?;
        }
        let listener = UnixListener::bind(path)
            .with_context(|| format!("admin socket: binding {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("admin socket: chmod 0600 {}", path.display()))?;
        listener
            .set_nonblocking(true)
            .context("admin socket: set_nonblocking")?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Serves every connection waiting now; `answer` builds the reply to a request. Never blocks for long: a client
    /// gets one second to send its request.
    pub fn serve_pending(&self, mut answer: impl FnMut(&Request) -> serde_json::Value) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Err(e) = serve_one(stream, &mut answer) {
                        tracing::warn!("admin socket: {e:#}");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!("admin socket: accept: {e}");
                    return;
                }
            }
        }
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve_one(
    stream: UnixStream,
    answer: &mut impl FnMut(&Request) -> serde_json::Value,
) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .take(MAX_REQUEST)
        .read_line(&mut line)?;
    let reply = match serde_json::from_str::<Request>(line.trim()) {
        Ok(req) => answer(&req),
        Err(e) => {
            let head: String = line.trim().chars().take(120).collect();
            serde_json::json!({ "error": format!("bad request {head:?}: {e}") })
        }
    };
    let mut w = &stream;
    let mut answer = serde_json::to_vec(&reply)?;
    answer.push(b'\n');
    w.write_all(&answer)?;
    Ok(())
}

/// Client side: sends `req` to the dataplane at `path` and returns its answer.
pub fn request(path: &Path, req: &Request) -> Result<serde_json::Value> {
    let mut stream = UnixStream::connect(path).with_context(|| {
        format!(
            "cannot reach the dataplane's admin socket {} (is edgelb-dataplane running?)",
            path.display()
        )
    })?;
    // Applying a desired state of 10,000 Services takes seconds (Maglev tables are built before it answers).
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    // One buffered write, not one system call per JSON token (a big desired state has millions).
    let mut request = serde_json::to_vec(req)?;
    request.push(b'\n');
    stream.write_all(&request)?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("admin socket answered something that is not JSON: {text:?}"))?;
    if let Some(err) = value.get("error").and_then(|e| e.as_str()) {
        bail!("the dataplane refused the request: {err}");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_answer_round_trip_and_mode() {
        let dir = std::env::temp_dir().join(format!("edgelb-admin-test-{}", std::process::id()));
        let path = dir.join("dp.sock");
        let server = AdminServer::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            AdminServer::bind(&path).is_err(),
            "a live socket must not be taken over"
        );

        let client = std::thread::spawn({
            let path = path.clone();
            move || request(&path, &Request::Status)
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !client.is_finished() && std::time::Instant::now() < deadline {
            server.serve_pending(|req| serde_json::json!({ "echo": format!("{req:?}") }));
            std::thread::sleep(Duration::from_millis(5));
        }
        let reply = client.join().unwrap().unwrap();
        assert_eq!(reply["echo"], "Status");
        drop(server);
        assert!(!path.exists(), "the socket is removed on drop");
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn unreachable_socket_says_what_to_check() {
        let err = request(Path::new("/nonexistent/edgelb.sock"), &Request::Status).unwrap_err();
        assert!(format!("{err:#}").contains("is edgelb-dataplane running"));
    }
}

//! Pushing desired states to the dataplane's admin socket: whole snapshots, the applied generation checked, and a
//! push again when the dataplane restarted (its boot id changed) or lost what it was given.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use edgelb_config::desired::DesiredState;
use serde_json::Value;

use crate::writeback::{Delivery, Refusal};

/// Why a push did not take.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The dataplane is not there (not started yet, restarting): retrying helps.
    #[error("cannot reach the dataplane at {socket}: {source}")]
    Unreachable {
        socket: PathBuf,
        source: std::io::Error,
    },
    /// The dataplane answered with something that is not the admin protocol.
    #[error("the dataplane at {socket} answered {answer:?}")]
    Protocol { socket: PathBuf, answer: String },
    /// The dataplane refused the state: retrying the same state does not help.
    #[error("the dataplane refused it: {0}")]
    Refused(String),
}

impl PushError {
    /// Whether trying again later (with the same state) may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(self, PushError::Refused(_))
    }
}

/// What the dataplane says it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataplaneView {
    pub boot_id: String,
    pub desired_generation: Option<u64>,
}

/// A client of one dataplane's admin socket.
#[derive(Debug, Clone)]
pub struct Pusher {
    socket: PathBuf,
    timeout: Duration,
}

impl Pusher {
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
            timeout: Duration::from_secs(300),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends `state`; Ok with the dataplane's boot id once it has applied exactly this generation.
    pub fn push(&self, state: &DesiredState) -> Result<DataplaneView, PushError> {
        let answer = self.request(&serde_json::json!({ "cmd": "put", "state": state }))?;
        if let Some(err) = answer.get("error").and_then(Value::as_str) {
            return Err(PushError::Refused(err.to_string()));
        }
        let view = self.view_of(&answer)?;
        if view.desired_generation != Some(state.generation) {
            return Err(self.protocol(&answer));
        }
        Ok(view)
    }

    /// The dataplane's boot id and the desired generation it runs.
    pub fn view(&self) -> Result<DataplaneView, PushError> {
        let answer = self.request(&serde_json::json!({ "cmd": "status" }))?;
        self.view_of(&answer)
    }

    fn view_of(&self, answer: &Value) -> Result<DataplaneView, PushError> {
        let boot_id = answer
            .get("boot_id")
            .and_then(Value::as_str)
            .ok_or_else(|| self.protocol(answer))?;
        Ok(DataplaneView {
            boot_id: boot_id.to_string(),
            desired_generation: answer.get("desired_generation").and_then(Value::as_u64),
        })
    }

    fn protocol(&self, answer: &Value) -> PushError {
        let mut text = answer.to_string();
        text.truncate(200);
        PushError::Protocol {
            socket: self.socket.clone(),
            answer: text,
        }
    }

    fn request(&self, req: &Value) -> Result<Value, PushError> {
        let unreachable = |source| PushError::Unreachable {
            socket: self.socket.clone(),
            source,
        };
        let mut stream = UnixStream::connect(&self.socket).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        stream
            .set_write_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        let mut line = serde_json::to_vec(req).unwrap_or_default();
        line.push(b'\n');
        stream.write_all(&line).map_err(unreachable)?;
        let mut text = String::new();
        stream.read_to_string(&mut text).map_err(unreachable)?;
        serde_json::from_str(&text).map_err(|_| PushError::Protocol {
            socket: self.socket.clone(),
            answer: text,
        })
    }
}

/// Keeps one dataplane running the latest good desired state: pushes each new plan, retries while the dataplane
/// is away, and pushes again when it restarted (a new boot id) or runs another generation than the one it accepted.
#[derive(Debug)]
pub struct Syncer {
    pusher: Pusher,
    /// The last state the dataplane accepted: what a restarted dataplane gets again.
    accepted: Option<DesiredState>,
    /// A state planned but not yet delivered (the dataplane was unreachable).
    pending: Option<DesiredState>,
    boot_id: Option<String>,
    /// The last refusal, until a later generation is accepted.
    refused: Option<Refusal>,
}

impl Syncer {
    pub fn new(pusher: Pusher) -> Self {
        Self {
            pusher,
            accepted: None,
            pending: None,
            boot_id: None,
            refused: None,
        }
    }

    /// What the dataplane did with the plans offered: for the write-back.
    pub fn delivery(&self) -> Delivery {
        Delivery::Dataplane {
            accepted: self.accepted_generation(),
            refused: self.refused.clone(),
        }
    }

    /// The generation the dataplane last accepted.
    pub fn accepted_generation(&self) -> Option<u64> {
        self.accepted.as_ref().map(|s| s.generation)
    }

    /// A new plan: pushed now; kept for later if the dataplane is away; logged if refused.
    pub fn offer(&mut self, state: DesiredState) {
        self.pending = None;
        self.deliver(state);
    }

    /// Called every few hundred milliseconds: delivers what is pending, and re-pushes after a restart.
    pub fn tick(&mut self) {
        if let Some(state) = self.pending.take() {
            self.deliver(state);
            return;
        }
        let Some(accepted) = &self.accepted else {
            return;
        };
        match self.pusher.view() {
            Ok(view) => {
                let restarted = self.boot_id.as_deref() != Some(view.boot_id.as_str());
                if restarted || view.desired_generation != Some(accepted.generation) {
                    tracing::info!(
                        boot_id = %view.boot_id, runs = ?view.desired_generation, generation = accepted.generation,
                        "the dataplane {}: pushing the desired state again",
                        if restarted { "restarted" } else { "runs another generation" }
                    );
                    self.deliver(accepted.clone());
                }
            }
            Err(e) => tracing::debug!("{e}"),
        }
    }

    fn deliver(&mut self, state: DesiredState) {
        match self.pusher.push(&state) {
            Ok(view) => {
                tracing::info!(generation = state.generation, boot_id = %view.boot_id, "the dataplane applied it");
                self.boot_id = Some(view.boot_id);
                self.refused = None;
                self.accepted = Some(state);
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(generation = state.generation, "{e}; will retry");
                self.pending = Some(state);
            }
            Err(e) => {
                tracing::error!(
                    generation = state.generation,
                    kept = ?self.accepted_generation(),
                    "{e}; the dataplane keeps the last accepted state"
                );
                let reason = match e {
                    PushError::Refused(reason) => reason,
                    other => other.to_string(),
                };
                self.refused = Some(Refusal {
                    generation: state.generation,
                    reason,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_dataplane_is_a_transient_error_that_names_the_socket() {
        let pusher = Pusher::new("/nonexistent/edgelb.sock");
        let err = pusher.push(&DesiredState::new(1, "test")).unwrap_err();
        assert!(err.is_transient());
        assert!(
            err.to_string().contains("/nonexistent/edgelb.sock"),
            "{err}"
        );
        let mut syncer = Syncer::new(pusher);
        syncer.offer(DesiredState::new(2, "test"));
        assert_eq!(syncer.accepted_generation(), None);
        assert_eq!(
            syncer.pending.as_ref().map(|s| s.generation),
            Some(2),
            "kept to retry"
        );
    }

    #[test]
    fn a_refusal_is_final() {
        assert!(!PushError::Refused("no".into()).is_transient());
    }

    /// A dataplane that answers each connection with the next of `answers`.
    fn dataplane(answers: &'static [&'static str]) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("edgelb-push-test-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut line = String::new();
                std::io::BufRead::read_line(&mut std::io::BufReader::new(&mut stream), &mut line)
                    .unwrap();
                stream.write_all(answer.as_bytes()).unwrap();
            }
        });
        path
    }

    #[test]
    fn the_delivery_tells_the_last_refusal_until_a_later_generation_is_accepted() {
        let socket = dataplane(&[
            r#"{"error":"generation 1: listener web: no such pool"}"#,
            r#"{"boot_id":"b1","desired_generation":2}"#,
        ]);
        let mut syncer = Syncer::new(Pusher::new(&socket));
        syncer.offer(DesiredState::new(1, "test"));
        assert_eq!(
            syncer.delivery(),
            Delivery::Dataplane {
                accepted: None,
                refused: Some(Refusal {
                    generation: 1,
                    reason: "generation 1: listener web: no such pool".into()
                }),
            }
        );
        syncer.offer(DesiredState::new(2, "test"));
        assert_eq!(
            syncer.delivery(),
            Delivery::Dataplane {
                accepted: Some(2),
                refused: None
            }
        );
        let _ = std::fs::remove_file(&socket);
    }
}

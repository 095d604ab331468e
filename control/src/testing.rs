//! What the tests of the kube source and the write-back share: states from YAML, and a mock API server in the
//! shape kube-rs documents (`tower_test::mock::pair`): the code under test sends its real HTTP requests to a
//! `Client` whose service is the mock; the test plays the API server, checking each request and answering it
//! with realistic JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

use crate::model::ClusterState;
use crate::planner::{self, Allocations, PlannerSettings};
use crate::source::manifests::Loader;
use crate::writeback::{Delivery, Outcome};

/// A full state of the objects in `yaml`.
pub fn state(yaml: &str) -> ClusterState {
    let mut loader = Loader::default();
    loader
        .add_text(yaml, std::path::Path::new("test.yaml"))
        .unwrap();
    let mut state = loader.finish();
    state.complete = true;
    state
}

/// VIPs from 198.18.10.100-199.
pub fn settings() -> PlannerSettings {
    PlannerSettings {
        vip_pools: vec!["198.18.10.100-198.18.10.199".parse().unwrap()],
        ..PlannerSettings::default()
    }
}

/// The outcome of planning `yaml` as generation `generation`.
pub fn outcome(yaml: &str, generation: u64, delivery: Delivery) -> Outcome {
    let state = state(yaml);
    let mut plan = planner::plan(&state, &settings(), &Allocations::default());
    plan.desired.generation = generation;
    Outcome {
        state: Arc::new(state),
        plan: Arc::new(plan),
        not_pushed: None,
        delivery,
    }
}

/// A client whose API server is the returned mock. Call within a tokio runtime.
pub fn mock_client() -> (Client, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServer { handle })
}

/// The test's side of the mock.
pub struct ApiServer {
    handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
}

/// One request received.
pub struct Call {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub content_type: Option<String>,
    /// The JSON body (Null when empty).
    pub body: Value,
    respond: tower_test::mock::SendResponse<Response<Body>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.method, self.uri, self.body)
    }
}

impl Call {
    /// Answers with `status` and a JSON body.
    pub fn respond(self, status: u16, body: &Value) {
        self.respond_raw(status, serde_json::to_vec(body).unwrap());
    }

    /// Answers with `status` and `body` as is (a watch's event lines).
    pub fn respond_raw(self, status: u16, body: Vec<u8>) {
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        self.respond.send_response(response);
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }
}

impl ApiServer {
    /// The next request, within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Call> {
        let (request, respond) = tokio::time::timeout(wait, self.handle.next_request())
            .await
            .ok()??;
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Some(Call {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            content_type: parts
                .headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string()),
            body,
            respond,
        })
    }

    /// The next request (within 5 s, else the test fails).
    pub async fn next(&mut self) -> Call {
        self.next_within(Duration::from_secs(5))
            .await
            .expect("a request within 5 s")
    }

    /// The next request, which must be `method uri`.
    pub async fn expect(&mut self, method: &str, uri: &str) -> Call {
        let call = self.next().await;
        assert_eq!(
            (call.method.as_str(), call.uri.as_str()),
            (method, uri),
            "{call:?}"
        );
        call
    }

    /// Fails if a request arrives within `wait`.
    pub async fn expect_none(&mut self, wait: Duration) {
        if let Some(call) = self.next_within(wait).await {
            panic!("unexpected request {call:?}");
        }
    }
}

/// The API server's error answer.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    })
}

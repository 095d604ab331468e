//! The desired state: what `edgelb-control` computes from the cluster (or a manifests directory) and pushes to the
//! dataplane as one whole snapshot, never a delta.
//!
//! Wire format: JSON, versioned by [`DESIRED_STATE_VERSION`]; unknown fields are refused so that a newer control
//! process talking to an older dataplane fails loudly instead of silently dropping what it asked for. The L4 parts
//! (VIPs, pools, listeners) have the same shape as the appliance config's sections and are validated by the same
//! rules, through [`apply`]; the L7 parts (listeners, virtual hosts, routes, certificates) are checked by
//! [`DesiredState::validate_l7`].

mod apply;
mod l7;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use apply::apply;
pub use l7::{
    check_host, Certificate, HttpRoute, L7Listener, L7Problem, PathType, PemKey, VirtualHost,
};

use crate::{BackendState, Protocol};

/// The version of the wire format this build reads and writes.
pub const DESIRED_STATE_VERSION: u32 = 1;

/// One whole desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    /// [`DESIRED_STATE_VERSION`] of the writer.
    pub version: u32,
    /// Grows with every snapshot the control process computes; the dataplane answers with the one it applied.
    pub generation: u64,
    /// Who computed it, for logs and status (e.g. `edgelb-control manifests:config/examples/k8s`).
    #[serde(default)]
    pub source: String,
    /// Addresses to own besides the listeners' VIPs (answered for ARP/ND/ping).
    #[serde(default)]
    pub vips: Vec<IpAddr>,
    /// Pools of backends, referred to by name from listeners and routes.
    #[serde(default)]
    pub pools: Vec<DesiredPool>,
    /// L4 listeners.
    #[serde(default)]
    pub listeners: Vec<DesiredListener>,
    /// L7 listeners (HTTP and HTTPS), served once the dataplane has L7.
    #[serde(default)]
    pub l7: Vec<L7Listener>,
    /// Certificates (chain and key, PEM) referred to by name from L7 listeners and hosts.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
}

/// A pool, as `pools:` entries of the appliance config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredPool {
    pub name: String,
    #[serde(default)]
    pub backends: Vec<DesiredBackend>,
}

/// A backend of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredBackend {
    pub address: IpAddr,
    pub port: u16,
    #[serde(default = "default_weight")]
    pub weight: u32,
    #[serde(default = "default_state")]
    pub state: BackendState,
}

fn default_weight() -> u32 {
    1
}

fn default_state() -> BackendState {
    BackendState::Active
}

/// An L4 listener, as `listeners:` entries of the appliance config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredListener {
    pub name: String,
    pub vip: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
    pub pool: String,
    /// Seconds of client-IP affinity (Kubernetes `sessionAffinity: ClientIP`); `None`: the 5-tuple decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip_affinity_s: Option<u64>,
}

impl DesiredState {
    /// An empty state of `generation`, from `source`.
    pub fn new(generation: u64, source: impl Into<String>) -> Self {
        Self {
            version: DESIRED_STATE_VERSION,
            generation,
            source: source.into(),
            vips: Vec::new(),
            pools: Vec::new(),
            listeners: Vec::new(),
            l7: Vec::new(),
            certificates: Vec::new(),
        }
    }

    /// Reads the JSON wire format, refusing other versions.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let state: DesiredState =
            serde_json::from_str(text).map_err(|e| format!("desired state: {e}"))?;
        if state.version != DESIRED_STATE_VERSION {
            return Err(format!(
                "desired state: version {} is not supported (this dataplane reads version {DESIRED_STATE_VERSION})",
                state.version
            ));
        }
        Ok(state)
    }

    /// The JSON wire format.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A name for messages: `desired state generation N (from SOURCE)`.
    pub fn origin(&self) -> String {
        if self.source.is_empty() {
            format!("desired state generation {}", self.generation)
        } else {
            format!(
                "desired state generation {} (from {})",
                self.generation, self.source
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DesiredState {
        let mut s = DesiredState::new(7, "test");
        s.pools.push(DesiredPool {
            name: "svc-default-web-80-tcp".into(),
            backends: vec![DesiredBackend {
                address: "198.19.0.11".parse().unwrap(),
                port: 30080,
                weight: 1,
                state: BackendState::Active,
            }],
        });
        s.listeners.push(DesiredListener {
            name: "svc-default-web-80-tcp".into(),
            vip: "198.18.10.11".parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
            pool: "svc-default-web-80-tcp".into(),
            client_ip_affinity_s: Some(10800),
        });
        s
    }

    #[test]
    fn json_round_trips() {
        let s = sample();
        assert_eq!(DesiredState::from_json(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn other_versions_and_unknown_fields_are_refused() {
        let mut s = sample();
        s.version = 2;
        let err = DesiredState::from_json(&s.to_json()).unwrap_err();
        assert!(err.contains("version 2 is not supported"), "{err}");
        let text = sample().to_json().replacen('{', "{\"surprise\":1,", 1);
        let err = DesiredState::from_json(&text).unwrap_err();
        assert!(err.contains("unknown field `surprise`"), "{err}");
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let text = r#"{"version":1,"generation":3,"pools":[{"name":"p","backends":[{"address":"2001:2:0:1::11","port":80}]}]}"#;
        let s = DesiredState::from_json(text).unwrap();
        assert_eq!(s.pools[0].backends[0].weight, 1);
        assert_eq!(s.pools[0].backends[0].state, BackendState::Active);
        assert_eq!(s.origin(), "desired state generation 3");
    }
}

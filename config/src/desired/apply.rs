//! Applying a desired state to the appliance config: its VIPs, pools and listeners join the file's own, and the
//! result is validated by exactly the rules a config file is, so a pushed snapshot can never do what a file
//! could not.

use serde_yaml::{Mapping, Value};

use super::DesiredState;
use crate::{ApplianceConfig, ConfigError, Problem};

/// The config the dataplane runs with `desired` on top of `base` (the file), or every reason it cannot.
///
/// Problems name the desired state (`desired state generation N (from SOURCE)`) and the field path in the merged
/// config (the file's own entries come first in each list); they carry no line numbers.
pub fn apply(
    base: &ApplianceConfig,
    desired: &DesiredState,
) -> Result<ApplianceConfig, ConfigError> {
    let origin = desired.origin();
    let mut problems: Vec<Problem> = desired
        .validate_l7()
        .into_iter()
        .map(|p| Problem {
            origin: origin.clone(),
            line: 0,
            column: 0,
            field: p.field,
            message: p.message,
        })
        .collect();
    let merged = match merged_yaml(base, desired) {
        Ok(text) => text,
        Err(message) => {
            problems.push(Problem {
                origin,
                line: 0,
                column: 0,
                field: String::new(),
                message,
            });
            return Err(ConfigError::Invalid(problems));
        }
    };
    match crate::parse(&merged, &origin) {
        Ok(config) if problems.is_empty() => Ok(config),
        Ok(_) => Err(ConfigError::Invalid(problems)),
        Err(ConfigError::Invalid(found)) => {
            problems.extend(found.into_iter().map(|p| Problem {
                line: 0,
                column: 0,
                ..p
            }));
            Err(ConfigError::Invalid(problems))
        }
        Err(other) => Err(other),
    }
}

/// The file's config as YAML with the desired state's VIPs, pools and listeners appended.
fn merged_yaml(base: &ApplianceConfig, desired: &DesiredState) -> Result<String, String> {
    let mut doc: Value =
        serde_yaml::from_str(&base.to_yaml()).map_err(|e| format!("re-reading the config: {e}"))?;
    let map = doc.as_mapping_mut().ok_or("the config is not a mapping")?;
    let vips = desired.vips.iter().map(|v| Value::from(v.to_string()));
    append(map, "vips", vips);
    let pools = desired.pools.iter().map(|p| {
        let backends = p.backends.iter().map(|b| {
            let mut m = Mapping::new();
            m.insert("address".into(), b.address.to_string().into());
            m.insert("port".into(), u64::from(b.port).into());
            m.insert("weight".into(), u64::from(b.weight).into());
            m.insert(
                "state".into(),
                serde_yaml::to_value(b.state).unwrap_or_default(),
            );
            Value::Mapping(m)
        });
        let mut m = Mapping::new();
        m.insert("name".into(), p.name.clone().into());
        m.insert("backends".into(), Value::Sequence(backends.collect()));
        Value::Mapping(m)
    });
    append(map, "pools", pools);
    let listeners = desired.listeners.iter().map(|l| {
        let mut m = Mapping::new();
        m.insert("name".into(), l.name.clone().into());
        m.insert("vip".into(), l.vip.to_string().into());
        m.insert("port".into(), u64::from(l.port).into());
        m.insert("protocol".into(), l.protocol.as_str().into());
        m.insert("pool".into(), l.pool.clone().into());
        if let Some(timeout) = l.client_ip_affinity_s {
            m.insert("affinity".into(), "client-ip".into());
            m.insert("affinity_timeout".into(), timeout.into());
        }
        Value::Mapping(m)
    });
    append(map, "listeners", listeners);
    serde_yaml::to_string(&doc).map_err(|e| format!("writing the merged config: {e}"))
}

fn append(map: &mut Mapping, key: &str, items: impl Iterator<Item = Value>) {
    let entry = map
        .entry(key.into())
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if !entry.is_sequence() {
        *entry = Value::Sequence(Vec::new());
    }
    if let Value::Sequence(seq) = entry {
        seq.extend(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{DesiredBackend, DesiredListener, DesiredPool};
    use crate::{BackendState, Protocol};

    fn base() -> ApplianceConfig {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lab.yaml"))
                .unwrap();
        crate::parse(&text, "lab.yaml").unwrap()
    }

    fn desired(vip: &str, backend: &str) -> DesiredState {
        let mut s = DesiredState::new(5, "manifests:k8s");
        s.pools.push(DesiredPool {
            name: "svc-default-demo-80-tcp".into(),
            backends: vec![DesiredBackend {
                address: backend.parse().unwrap(),
                port: 30080,
                weight: 1,
                state: BackendState::Active,
            }],
        });
        s.listeners.push(DesiredListener {
            name: "svc-default-demo-80-tcp".into(),
            vip: vip.parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
            pool: "svc-default-demo-80-tcp".into(),
            client_ip_affinity_s: Some(600),
        });
        s
    }

    #[test]
    fn pools_and_listeners_join_the_files_own() {
        let base = base();
        let config = apply(&base, &desired("198.18.10.11", "198.19.0.12")).unwrap();
        assert_eq!(config.listeners.len(), base.listeners.len() + 1);
        let l = config.listeners.last().unwrap();
        assert_eq!(
            (l.name.as_str(), l.vip.to_string(), l.port),
            ("svc-default-demo-80-tcp", "198.18.10.11".into(), 80)
        );
        assert_eq!(
            l.affinity,
            crate::Affinity::ClientIp {
                timeout: std::time::Duration::from_secs(600)
            }
        );
        assert!(config
            .owned_vips()
            .contains(&"198.18.10.11".parse().unwrap()));
        assert_eq!(config.ports, base.ports, "the file's own sections are kept");
    }

    #[test]
    fn a_bad_snapshot_is_refused_with_the_same_rules_as_a_file() {
        let err = apply(&base(), &desired("198.18.0.1", "198.19.0.12"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "desired state generation 5 (from manifests:k8s): listeners[3].vip: 198.18.0.1 is a port address: a VIP \
             must be an address of its own"
        );
        let err = apply(&base(), &desired("198.18.10.11", "2001:2:0:1::11"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("listeners[3]") && err.contains("IPv6"),
            "{err}"
        );
        assert!(!err.contains(":0:0:"), "no made-up line numbers: {err}");
    }

    #[test]
    fn l7_problems_are_reported_with_the_rest() {
        let mut d = desired("198.18.10.11", "198.19.0.12");
        d.l7.push(crate::desired::L7Listener {
            name: "web".into(),
            vip: "198.18.10.11".parse().unwrap(),
            port: 443,
            tls: true,
            default_certificate: Some("nope".into()),
            hosts: vec![],
            default_pool: None,
            redirect_to_https: false,
            proxy_protocol: false,
        });
        let err = apply(&base(), &d).unwrap_err().to_string();
        assert_eq!(err, "desired state generation 5 (from manifests:k8s): l7[0].default_certificate: no certificate \"nope\"");
    }
}

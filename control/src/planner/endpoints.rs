//! The endpoints (pods) of one Service port, and which of them take traffic.
//!
//! They come from the Service's EndpointSlices (label `kubernetes.io/service-name`), or, for a Service that has
//! none (a selector-less Service with hand-written objects), from its Endpoints. A slice carries a port when one of
//! its ports has the Service port's name and protocol; that entry's number is the target port, which is how a named
//! `targetPort` is resolved. Selection follows kube-proxy: the ready endpoints; when there are none, the ones that
//! are still serving while terminating. Serving-terminating endpoints next to ready ones are kept as draining,
//! so their established connections end on their own.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointSubset, ServicePort};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::IpFamily;
use crate::model::{ClusterState, ObjectKey};

/// The label that ties an EndpointSlice to its Service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One endpoint of a Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub address: IpAddr,
    /// The target port; `None` when a named `targetPort` could not be resolved.
    pub port: Option<u16>,
    pub node: Option<String>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

/// The Service port an endpoint list is for.
struct PortSpec<'a> {
    name: &'a str,
    protocol: &'a str,
    /// The target port when it is a number (defaulting to the port, as the API server does).
    numeric_target: Option<u16>,
}

impl<'a> PortSpec<'a> {
    fn of(port: &'a ServicePort) -> Self {
        let numeric_target = match &port.target_port {
            Some(IntOrString::Int(n)) => u16::try_from(*n).ok(),
            Some(IntOrString::String(_)) => None,
            None => u16::try_from(port.port).ok(),
        };
        Self {
            name: port.name.as_deref().unwrap_or(""),
            protocol: port.protocol.as_deref().unwrap_or("TCP"),
            numeric_target,
        }
    }

    /// The target port as a list of named ports resolves it; the outer `None`: the list does not carry this port.
    fn resolve<'p>(
        &self,
        ports: impl Iterator<Item = (&'p str, &'p str, Option<i32>)>,
        listed: bool,
    ) -> Option<Option<u16>> {
        if !listed {
            return Some(self.numeric_target);
        }
        let mut ports = ports;
        ports
            .find(|(name, protocol, _)| *name == self.name && *protocol == self.protocol)
            .map(|(_, _, number)| {
                number
                    .and_then(|n| u16::try_from(n).ok())
                    .or(self.numeric_target)
            })
    }
}

/// The endpoints of `service`'s `port` of `family`, sorted by address and port, without duplicates.
pub(crate) fn of_service_port(
    state: &ClusterState,
    service: &ObjectKey,
    port: &ServicePort,
    family: IpFamily,
) -> Vec<Endpoint> {
    let spec = PortSpec::of(port);
    // The map is ordered by namespace first: look at the Service's namespace only.
    let first = ObjectKey::new(service.namespace.clone(), String::new());
    let slices: Vec<&EndpointSlice> = state
        .endpoint_slices
        .range(first..)
        .take_while(|(key, _)| key.namespace == service.namespace)
        .map(|(_, slice)| slice)
        .filter(|slice| {
            let label = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL));
            label == Some(&service.name)
        })
        .collect();
    let mut found = Vec::new();
    if slices.is_empty() {
        if let Some(endpoints) = state.endpoints.get(service) {
            for subset in endpoints.subsets.iter().flatten() {
                from_subset(subset, &spec, family, &mut found);
            }
        }
    } else {
        for slice in slices {
            from_slice(slice, &spec, family, &mut found);
        }
    }
    dedup(found)
}

fn from_slice(
    slice: &EndpointSlice,
    spec: &PortSpec<'_>,
    family: IpFamily,
    out: &mut Vec<Endpoint>,
) {
    if IpFamily::parse(&slice.address_type) != Some(family) {
        return;
    }
    let ports = slice.ports.as_deref().unwrap_or_default();
    let named = ports.iter().map(|p| {
        (
            p.name.as_deref().unwrap_or(""),
            p.protocol.as_deref().unwrap_or("TCP"),
            p.port,
        )
    });
    let Some(port) = spec.resolve(named, !ports.is_empty()) else {
        return;
    };
    for endpoint in slice.endpoints.iter().flatten() {
        let Some(address) = endpoint
            .addresses
            .first()
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
        else {
            continue;
        };
        if IpFamily::of(address) != family {
            continue;
        }
        let conditions = endpoint.conditions.clone().unwrap_or_default();
        // The API's defaults: unknown readiness counts as ready, serving follows ready.
        let ready = conditions.ready.unwrap_or(true);
        out.push(Endpoint {
            address,
            port,
            node: endpoint.node_name.clone(),
            ready,
            serving: conditions.serving.unwrap_or(ready),
            terminating: conditions.terminating.unwrap_or(false),
        });
    }
}

fn from_subset(
    subset: &EndpointSubset,
    spec: &PortSpec<'_>,
    family: IpFamily,
    out: &mut Vec<Endpoint>,
) {
    let ports = subset.ports.as_deref().unwrap_or_default();
    let named = ports.iter().map(|p| {
        (
            p.name.as_deref().unwrap_or(""),
            p.protocol.as_deref().unwrap_or("TCP"),
            Some(p.port),
        )
    });
    let Some(port) = spec.resolve(named, !ports.is_empty()) else {
        return;
    };
    let mut add = |a: &EndpointAddress, ready: bool| {
        if let Ok(address) = a.ip.trim().parse::<IpAddr>() {
            if IpFamily::of(address) == family {
                out.push(Endpoint {
                    address,
                    port,
                    node: a.node_name.clone(),
                    ready,
                    serving: ready,
                    terminating: false,
                });
            }
        }
    };
    subset.addresses.iter().flatten().for_each(|a| add(a, true));
    subset
        .not_ready_addresses
        .iter()
        .flatten()
        .for_each(|a| add(a, false));
}

/// One entry per address and port; when two slices list the same one, the readier entry wins.
fn dedup(found: Vec<Endpoint>) -> Vec<Endpoint> {
    let mut by_socket: BTreeMap<(IpAddr, Option<u16>), Endpoint> = BTreeMap::new();
    for e in found {
        let rank = |e: &Endpoint| (e.ready, e.serving, !e.terminating);
        match by_socket.get(&(e.address, e.port)) {
            Some(existing) if rank(existing) >= rank(&e) => {}
            _ => {
                by_socket.insert((e.address, e.port), e);
            }
        }
    }
    by_socket.into_values().collect()
}

/// The endpoints that take traffic.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Selection<'a> {
    /// New connections go here.
    pub active: Vec<&'a Endpoint>,
    /// Serving while terminating next to ready ones: keep their connections, give them no new ones.
    pub draining: Vec<&'a Endpoint>,
    /// No endpoint was ready: `active` holds the serving-terminating ones.
    pub fell_back: bool,
}

/// kube-proxy's choice: the ready endpoints, else the serving-terminating ones.
pub(crate) fn select(endpoints: &[Endpoint]) -> Selection<'_> {
    let ready: Vec<&Endpoint> = endpoints.iter().filter(|e| e.ready).collect();
    let serving_terminating: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| !e.ready && e.serving && e.terminating)
        .collect();
    if ready.is_empty() {
        Selection {
            active: serving_terminating,
            draining: Vec::new(),
            fell_back: true,
        }
    } else {
        Selection {
            active: ready,
            draining: serving_terminating,
            fell_back: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClusterObject;

    fn state(yaml: &str) -> ClusterState {
        let mut state = ClusterState::default();
        for doc in serde_yaml::Deserializer::from_str(yaml) {
            let value = serde_yaml::Value::deserialize(doc).unwrap();
            let object = match value["kind"].as_str().unwrap() {
                "EndpointSlice" => {
                    ClusterObject::EndpointSlice(Box::new(serde_yaml::from_value(value).unwrap()))
                }
                "Endpoints" => {
                    ClusterObject::Endpoints(Box::new(serde_yaml::from_value(value).unwrap()))
                }
                other => panic!("{other}"),
            };
            state.insert(object);
        }
        state
    }

    use serde::Deserialize;

    fn port(yaml: &str) -> ServicePort {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn ep(
        address: &str,
        port: u16,
        node: &str,
        ready: bool,
        serving: bool,
        terminating: bool,
    ) -> Endpoint {
        Endpoint {
            address: address.parse().unwrap(),
            port: Some(port),
            node: Some(node.into()),
            ready,
            serving,
            terminating,
        }
    }

    const SLICES: &str = r#"
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-a, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [ { name: http, port: 8080, protocol: TCP }, { name: metrics, port: 9090 } ]
endpoints:
  - { addresses: [10.244.1.5], nodeName: node1 }
  - { addresses: [10.244.2.7], nodeName: node2, conditions: { ready: false, serving: true, terminating: true } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-b, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [ { name: http, port: 8080, protocol: TCP } ]
endpoints:
  - { addresses: [10.244.1.5], nodeName: node1, conditions: { ready: false } }
  - { addresses: [10.244.3.9], nodeName: node3, conditions: { ready: false, serving: false } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-v6, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv6
ports: [ { name: http, port: 8080 } ]
endpoints:
  - { addresses: ["fd00:10:244:1::5"], nodeName: node1 }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-x, namespace: other, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [ { name: http, port: 8080 } ]
endpoints:
  - { addresses: [10.9.9.9] }
"#;

    #[test]
    fn named_target_ports_resolve_through_the_slices_port_names() {
        let s = state(SLICES);
        let key = ObjectKey::new("shop", "web");
        let http = port("{ name: http, port: 80, targetPort: web }");
        let got = of_service_port(&s, &key, &http, IpFamily::IPv4);
        assert_eq!(
            got,
            [
                ep("10.244.1.5", 8080, "node1", true, true, false),
                ep("10.244.2.7", 8080, "node2", false, true, true),
                ep("10.244.3.9", 8080, "node3", false, false, false),
            ]
        );
        let metrics = port("{ name: metrics, port: 9090, targetPort: metrics }");
        let got = of_service_port(&s, &key, &metrics, IpFamily::IPv4);
        assert_eq!(
            got.iter()
                .map(|e| e.address.to_string())
                .collect::<Vec<_>>(),
            ["10.244.1.5", "10.244.2.7"]
        );
        let v6 = of_service_port(&s, &key, &http, IpFamily::IPv6);
        assert_eq!(
            v6,
            [ep("fd00:10:244:1::5", 8080, "node1", true, true, false)]
        );
        let udp = port("{ name: http, port: 80, protocol: UDP }");
        assert!(of_service_port(&s, &key, &udp, IpFamily::IPv4).is_empty());
    }

    #[test]
    fn hand_written_endpoints_serve_services_without_slices() {
        let s = state(
            r#"
apiVersion: v1
kind: Endpoints
metadata: { name: legacy }
subsets:
  - addresses: [ { ip: 192.0.2.10 }, { ip: 192.0.2.11, nodeName: node2 } ]
    notReadyAddresses: [ { ip: 192.0.2.12 } ]
    ports: [ { port: 9376 } ]
"#,
        );
        let key = ObjectKey::new("default", "legacy");
        let got = of_service_port(
            &s,
            &key,
            &port("{ port: 80, targetPort: 9376 }"),
            IpFamily::IPv4,
        );
        let summary: Vec<(String, Option<u16>, bool)> = got
            .iter()
            .map(|e| (e.address.to_string(), e.port, e.ready))
            .collect();
        assert_eq!(
            summary,
            [
                ("192.0.2.10".into(), Some(9376), true),
                ("192.0.2.11".into(), Some(9376), true),
                ("192.0.2.12".into(), Some(9376), false),
            ]
        );
        assert_eq!(got[1].node.as_deref(), Some("node2"));
    }

    #[test]
    fn slices_without_ports_use_a_numeric_target_port_or_none() {
        let s = state(
            r#"
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: manual-1, labels: { kubernetes.io/service-name: manual } }
addressType: IPv4
endpoints: [ { addresses: [192.0.2.20] } ]
"#,
        );
        let key = ObjectKey::new("default", "manual");
        let got = of_service_port(&s, &key, &port("{ port: 80 }"), IpFamily::IPv4);
        assert_eq!(got[0].port, Some(80), "targetPort defaults to port");
        let got = of_service_port(
            &s,
            &key,
            &port("{ port: 80, targetPort: http }"),
            IpFamily::IPv4,
        );
        assert_eq!(got[0].port, None, "a name no slice port resolves");
    }

    #[test]
    fn selection_prefers_ready_then_serving_terminating() {
        let all = [
            ep("10.0.0.1", 80, "node1", true, true, false),
            ep("10.0.0.2", 80, "node2", false, true, true),
            ep("10.0.0.3", 80, "node3", false, false, true),
            ep("10.0.0.4", 80, "node3", false, false, false),
        ];
        let s = select(&all);
        assert_eq!(s.active, [&all[0]]);
        assert_eq!(s.draining, [&all[1]]);
        assert!(!s.fell_back);
        let s = select(&all[1..]);
        assert_eq!(s.active, [&all[1]]);
        assert!(s.draining.is_empty() && s.fell_back);
        let s = select(&all[2..]);
        assert!(s.active.is_empty() && s.fell_back);
    }
}

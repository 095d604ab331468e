//! Nodes as backends: which nodes may take traffic, and at which address of a family.
//!
//! A node takes traffic when its `Ready` condition is `True` and it does not carry the
//! `node.kubernetes.io/exclude-from-external-load-balancers` label (what cloud load balancers honour). Its address
//! of a family is its first `InternalIP` of that family, else its first `ExternalIP`.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Node;

use super::IpFamily;

/// Nodes with this label are never backends.
pub(crate) const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// Whether `node` may take traffic.
pub(crate) fn takes_traffic(node: &Node) -> bool {
    let excluded = node
        .metadata
        .labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key(EXCLUDE_LABEL));
    !excluded && is_ready(node)
}

fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// The address at which the appliance reaches `node` for `family`.
pub(crate) fn address(node: &Node, family: IpFamily) -> Option<IpAddr> {
    let addresses = node.status.as_ref()?.addresses.as_ref()?;
    let of_type = |kind: &str| {
        addresses
            .iter()
            .filter(|a| a.type_ == kind)
            .filter_map(|a| a.address.trim().parse::<IpAddr>().ok())
            .find(|ip| IpFamily::of(*ip) == family)
    };
    of_type("InternalIP").or_else(|| of_type("ExternalIP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        serde_yaml::from_str(text).unwrap()
    }

    const NODE: &str = r#"
apiVersion: v1
kind: Node
metadata: { name: node1 }
status:
  conditions:
    - { type: MemoryPressure, status: "False" }
    - { type: Ready, status: "True" }
  addresses:
    - { type: Hostname, address: node1 }
    - { type: ExternalIP, address: 203.0.113.11 }
    - { type: ExternalIP, address: "2001:db8::11" }
    - { type: InternalIP, address: 198.19.0.11 }
"#;

    #[test]
    fn internal_addresses_come_first_then_external_ones() {
        let n = node(NODE);
        assert_eq!(
            address(&n, IpFamily::IPv4),
            Some("198.19.0.11".parse().unwrap())
        );
        assert_eq!(
            address(&n, IpFamily::IPv6),
            Some("2001:db8::11".parse().unwrap())
        );
        let bare = node("apiVersion: v1\nkind: Node\nmetadata: { name: n }\n");
        assert_eq!(address(&bare, IpFamily::IPv4), None);
    }

    #[test]
    fn only_ready_nodes_without_the_exclusion_label_take_traffic() {
        assert!(takes_traffic(&node(NODE)));
        let not_ready = NODE.replace(
            "{ type: Ready, status: \"True\" }",
            "{ type: Ready, status: Unknown }",
        );
        assert!(!takes_traffic(&node(&not_ready)));
        let no_conditions = node("apiVersion: v1\nkind: Node\nmetadata: { name: n }\n");
        assert!(!takes_traffic(&no_conditions));
        let excluded = NODE.replace(
            "metadata: { name: node1 }",
            "metadata: { name: node1, labels: { node.kubernetes.io/exclude-from-external-load-balancers: \"\" } }",
        );
        assert!(!takes_traffic(&node(&excluded)));
    }
}

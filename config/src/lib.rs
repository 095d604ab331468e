//! edgelb's configuration: the appliance's YAML config file, read into validated types.
//!
//! [`load`] and [`parse`] give an [`ApplianceConfig`] in which every value has been checked, or a
//! [`ConfigError`] that lists every problem as `file:line:column: field: what is wrong and what is allowed`.
//! `config/README.md` documents the file; `config/examples/lab.yaml` is the lab's config.
//!
//! Reading goes: YAML text → a tree of nodes with positions (`yaml_tree`) → the file's schema through
//! serde (`yaml_de`, `schema`) → validation into the model (`validate`, `model`). Serde stops at the
//! first structural problem (wrong type, unknown or missing field); validation reports all value problems.

mod balancing;
mod cidr;
pub mod desired;
mod eal_args;
mod emit;
mod error;
mod field_path;
mod l7;
mod model;
mod pci;
mod schema;
mod text_serde;
mod validate;
mod yaml_de;
mod yaml_tree;

use std::path::Path;

pub use balancing::{
    Affinity, BackendConfig, BackendState, FlowTimeouts, L4Config, ListenerConfig, PoolConfig,
    PortRange, Protocol, RemovedBackendPolicy, SnatConfig, DEFAULT_AFFINITY_TIMEOUT,
    DEFAULT_MAGLEV_SIZE,
};
pub use cidr::{CidrError, IpCidr, Ipv4Cidr, Ipv6Cidr};
pub use error::{ConfigError, Problem};
pub use l7::{L7Buffers, L7Config, L7Timeouts};
pub use model::{
    AdminConfig, ApplianceConfig, Device, EalConfig, LogLevel, MbufConfig, NeighbourConfig,
    PortConfig, Route, WorkersConfig, DEFAULT_ADMIN_SOCKET, MAX_BURST, MAX_LCORES, MAX_PORTS,
};
pub use pci::{PciAddress, PciAddressError};

use field_path::FieldPath;
use yaml_tree::{Node, NodeKind, Pos};

/// Reads, parses and validates the config file at `path`; errors name the file as `path` displays.
pub fn load(path: &Path) -> Result<ApplianceConfig, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        origin: origin.clone(),
        source,
    })?;
    parse(&text, &origin)
}

/// Parses and validates config text; `origin` names it in errors (normally the file name).
pub fn parse(text: &str, origin: &str) -> Result<ApplianceConfig, ConfigError> {
    let problem = |pos: Pos, field: &FieldPath, message: String| Problem {
        origin: origin.to_owned(),
        line: pos.line,
        column: pos.column,
        field: field.to_string(),
        message,
    };
    let root = match yaml_tree::parse_document(text) {
        Ok(Some(root)) => root,
        // An empty file is an empty mapping: the missing sections are then named.
        Ok(None) => Node {
            kind: NodeKind::Map(Vec::new()),
            pos: Pos { line: 1, column: 1 },
        },
        Err(e) => {
            return Err(ConfigError::Invalid(vec![problem(
                e.pos,
                &FieldPath::root(),
                e.message,
            )]))
        }
    };
    let file: schema::FileConfig = yaml_de::from_node(&root).map_err(|e| {
        let (pos, path) = e.at.unwrap_or((root.pos, FieldPath::root()));
        ConfigError::Invalid(vec![problem(pos, &path, e.message)])
    })?;
    validate::validate(&file).map_err(|found| {
        let mut problems: Vec<Problem> = found
            .into_iter()
            .map(|(path, message)| problem(root.locate(&path), &path, message))
            .collect();
        problems.sort_by_key(|p| (p.line, p.column));
        ConfigError::Invalid(problems)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::test_support::{assert_problem, base_with, BASE};

    #[test]
    fn unknown_field_names_file_line_column_and_path() {
        let err = base_with(
            "    promiscuous: false\n",
            "    promiscuous: false\n    promiscous: true\n",
        );
        assert_eq!(
            err.to_string(),
            "base.yaml:28:5: ports[0].promiscous: unknown field `promiscous`, expected one of `name`, `device`, \
             `ipv4`, `ipv6`, `vlan`, `mtu`, `rx_desc`, `tx_desc`, `promiscuous`"
        );
        let err = base_with("admin:\n", "admn:\n");
        assert_problem(
            &err,
            "admn",
            44,
            "unknown field `admn`, expected one of `eal`, `workers`",
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = base_with("mtu: 1500", "mtu: big");
        assert_eq!(
            err.to_string(),
            "base.yaml:24:10: ports[0].mtu: invalid type: string \"big\", expected u64"
        );
        let err = base_with("hugepages: false", "hugepages: 0");
        assert_problem(
            &err,
            "eal.hugepages",
            5,
            "invalid type: integer `0`, expected a boolean",
        );
        let err = base_with("ipv4: [198.18.0.1/24]", "ipv4: 198.18.0.1/24");
        assert_problem(
            &err,
            "ports[0].ipv4",
            21,
            "invalid type: string \"198.18.0.1/24\", expected a sequence",
        );
    }

    #[test]
    fn missing_required_field_names_its_parent() {
        let err = base_with(
            "    device: { vdev: \"net_af_packet1,iface=p1,qpairs=1\" }\n",
            "",
        );
        assert_eq!(
            err.to_string(),
            "base.yaml:28:5: ports[1]: missing field `device`"
        );
        let err = parse("eal: {}\n", "empty.yaml").unwrap_err();
        assert_eq!(err.to_string(), "empty.yaml:1:1: missing field `workers`");
    }

    #[test]
    fn empty_file_names_the_first_missing_section() {
        assert_eq!(
            parse("", "e.yaml").unwrap_err().to_string(),
            "e.yaml:1:1: missing field `workers`"
        );
        assert_eq!(
            parse("# only\n", "e.yaml").unwrap_err().to_string(),
            "e.yaml:1:1: missing field `workers`"
        );
    }

    #[test]
    fn yaml_syntax_errors_have_a_position() {
        let err = parse("workers:\n  lcores: [1\nports: []\n", "bad.yaml").unwrap_err();
        let problem = &err.problems()[0];
        assert!(problem.message.starts_with("not valid YAML: "), "{err}");
        assert_eq!(
            (problem.origin.as_str(), problem.field.as_str()),
            ("bad.yaml", "")
        );
        assert!(problem.line >= 2, "{err}");
        let err = parse("- 1\n- 2\n", "list.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "list.yaml:1:1: invalid type: sequence, expected a mapping of config sections"
        );
    }

    #[test]
    fn defaults_fill_the_optional_sections() {
        let text = "workers: { lcores: [1] }\nports:\n  - name: p\n    device: { pci: 0000:3b:00.0 }\n    ipv4: [192.0.2.1/24]\n";
        let config = parse(text, "min.yaml").unwrap();
        assert_eq!(config.eal.file_prefix, "edgelb");
        assert_eq!(
            (config.eal.memory_mb, config.eal.log_level),
            (1024, LogLevel::Notice)
        );
        assert_eq!(
            (config.workers.burst, config.workers.idle_sleep),
            (32, std::time::Duration::ZERO)
        );
        assert_eq!((config.mbufs.per_port, config.mbufs.cache), (8192, 256));
        let port = &config.ports[0];
        assert_eq!(
            (
                port.mtu,
                port.rx_desc,
                port.tx_desc,
                port.vlan,
                port.promiscuous
            ),
            (1500, 1024, 1024, None, false)
        );
        assert_eq!(config.neighbours.max_probes, 3);
        assert_eq!(
            config.admin.socket,
            std::path::PathBuf::from(DEFAULT_ADMIN_SOCKET)
        );
        assert!(config.routes.is_empty() && config.vips.is_empty());
    }

    #[test]
    fn load_names_the_file_it_cannot_read() {
        let err = load(Path::new("/nonexistent/edgelb.yaml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/edgelb.yaml: cannot read the config: "),
            "{err}"
        );
        assert!(err.problems().is_empty());
    }

    #[test]
    fn base_config_is_valid() {
        assert!(parse(BASE, "base.yaml").is_ok());
    }
}

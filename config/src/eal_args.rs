//! The EAL command line that the config implies, for `rte_eal_init`.

use std::fmt::Write as _;

use crate::model::{ApplianceConfig, Device};

impl ApplianceConfig {
    /// The arguments for `rte_eal_init`, without the program name (`argv[0]`): lcores, main lcore, file
    /// prefix, memory, log level, one `--vdev` or `-a` per port (with `--no-pci` when no port is a PCI
    /// device, so that EAL leaves the machine's other NICs alone), then `eal.extra_args` verbatim.
    pub fn eal_args(&self) -> Vec<String> {
        let eal = &self.eal;
        let mut args = vec!["--lcores".to_owned(), self.lcores_arg()];
        args.extend(["--main-lcore".to_owned(), eal.main_lcore.to_string()]);
        args.extend(["--file-prefix".to_owned(), eal.file_prefix.clone()]);
        if !eal.hugepages {
            args.push("--no-huge".to_owned());
        }
        args.extend(["-m".to_owned(), eal.memory_mb.to_string()]);
        if eal.in_memory {
            args.push("--in-memory".to_owned());
        }
        args.extend([
            "--log-level".to_owned(),
            eal.log_level.rte_level().to_string(),
        ]);
        for port in &self.ports {
            match &port.device {
                Device::Vdev(spec) => args.extend(["--vdev".to_owned(), spec.clone()]),
                Device::Pci(address) => args.extend(["-a".to_owned(), address.to_string()]),
            }
        }
        if !self
            .ports
            .iter()
            .any(|port| matches!(port.device, Device::Pci(_)))
        {
            args.push("--no-pci".to_owned());
        }
        args.extend(eal.extra_args.iter().cloned());
        args
    }

    /// `--lcores`'s value: the main lcore then the workers, each `lcore@cpu` where it runs elsewhere.
    fn lcores_arg(&self) -> String {
        let lcores =
            std::iter::once(self.eal.main_lcore).chain(self.workers.lcores.iter().copied());
        let mut text = String::new();
        for (i, lcore) in lcores.enumerate() {
            let separator = if i == 0 { "" } else { "," };
            let _ = match self.workers.cpus.get(&lcore) {
                Some(cpu) if *cpu != lcore => write!(text, "{separator}{lcore}@{cpu}"),
                _ => write!(text, "{separator}{lcore}"),
            };
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::{base_config, BASE};

    #[test]
    fn base_config_args() {
        let config = base_config(BASE);
        let args = config.eal_args();
        let expected = "--lcores 0,1 --main-lcore 0 --file-prefix edgelb-lab --no-huge -m 1024 --log-level 6 \
                        --vdev net_af_packet0,iface=p0,qpairs=1 --vdev net_af_packet1,iface=p1,qpairs=1 --no-pci";
        assert_eq!(args.join(" "), expected);
    }

    #[test]
    fn cpus_pci_hugepages_in_memory_and_extra_args() {
        let text = BASE
            .replace("lcores: [1]", "lcores: [1, 2]")
            .replace("cpus: null", "cpus: {2: 1, 1: 1}")
            .replace("hugepages: false", "hugepages: true")
            .replace("in_memory: false", "in_memory: true")
            .replace("log_level: notice", "log_level: debug")
            .replace("extra_args: []", "extra_args: [--no-telemetry]")
            .replace(
                "{ vdev: \"net_af_packet1,iface=p1,qpairs=1\" }",
                "{ pci: \"3b:00.1\" }",
            )
            .replace("per_port: 8192", "per_port: 16384");
        let args = base_config(&text).eal_args();
        let expected = "--lcores 0,1,2@1 --main-lcore 0 --file-prefix edgelb-lab -m 1024 --in-memory --log-level 8 \
                        --vdev net_af_packet0,iface=p0,qpairs=1 -a 0000:3b:00.1 --no-telemetry";
        assert_eq!(args.join(" "), expected);
    }
}

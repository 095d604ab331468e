//! A builder for EAL's command line.
//!
//! EAL is configured by argv only; this builder names the options edgelb uses so that the appliance
//! and the tests spell them the same way. Pure Rust: building arguments needs no EAL.

/// How EAL gets its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Memory {
    /// EAL's default: all free hugepages.
    Default,
    /// `--no-huge -m MB`: anonymous memory, for labs and CI without hugepages.
    NoHuge { mb: u32 },
    /// `--socket-mem A,B,...`: that many MB of hugepages on each NUMA socket.
    SocketMem(Vec<u32>),
}

/// EAL arguments, program name first. Options that exclude each other replace each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EalArgs {
    program: String,
    lcores: Option<(&'static str, String)>,
    main_lcore: Option<u32>,
    memory: Memory,
    file_prefix: Option<String>,
    in_memory: bool,
    pci: Vec<String>,
    vdevs: Vec<String>,
    log_levels: Vec<String>,
    extra: Vec<String>,
}

impl EalArgs {
    /// Arguments for `program` (argv\[0\]), with EAL's defaults.
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            lcores: None,
            main_lcore: None,
            memory: Memory::Default,
            file_prefix: None,
            in_memory: false,
            pci: Vec::new(),
            vdevs: Vec::new(),
            log_levels: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// `-l LIST`: the lcores to run, as a list of ids and ranges (`0-3,8`); lcore i runs on cpu i.
    pub fn lcore_list(mut self, list: impl Into<String>) -> Self {
        self.lcores = Some(("-l", list.into()));
        self
    }

    /// `--lcores MAP`: lcores mapped to cpu sets (`0@2,1@(3,4)`); replaces [`EalArgs::lcore_list`].
    pub fn lcore_map(mut self, map: impl Into<String>) -> Self {
        self.lcores = Some(("--lcores", map.into()));
        self
    }

    /// `--main-lcore ID`: the lcore that runs `main` (and the management thread's caller).
    pub fn main_lcore(mut self, id: u32) -> Self {
        self.main_lcore = Some(id);
        self
    }

    /// `--no-huge -m MB`: anonymous memory instead of hugepages (labs, CI). Replaces `socket_mem`.
    pub fn no_huge(mut self, mb: u32) -> Self {
        self.memory = Memory::NoHuge { mb };
        self
    }

    /// `--socket-mem A,B`: MB of hugepages to reserve per NUMA socket. Replaces `no_huge`.
    pub fn socket_mem(mut self, mb_per_socket: &[u32]) -> Self {
        self.memory = Memory::SocketMem(mb_per_socket.to_vec());
        self
    }

    /// `--file-prefix P`: separates this process's runtime files (and hugepage files) from other
    /// DPDK processes on the machine.
    pub fn file_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.file_prefix = Some(prefix.into());
        self
    }

    /// `--in-memory`: no shared config files, no hugepage files left behind; no secondary processes.
    /// With [`EalArgs::no_huge`] (which EAL runs in legacy memory mode, refusing `--in-memory`)
    /// this becomes `--no-shconf`, its equivalent there: there are no hugepage files anyway.
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// `--vdev SPEC`, repeatable: a virtual device such as `net_af_packet0,iface=veth0`.
    pub fn vdev(mut self, spec: impl Into<String>) -> Self {
        self.vdevs.push(spec.into());
        self
    }

    /// `-a PCI`, repeatable: allow this PCI device (`0000:01:00.0`). Without any, `--no-pci` is
    /// passed so that EAL does not take every NIC bound to a DPDK driver.
    pub fn pci(mut self, addr: impl Into<String>) -> Self {
        self.pci.push(addr.into());
        self
    }

    /// `--log-level SPEC`, repeatable: `7`, `debug`, or `pmd.net.ring:debug`.
    pub fn log_level(mut self, spec: impl Into<String>) -> Self {
        self.log_levels.push(spec.into());
        self
    }

    /// One more argument, passed as is after the others.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra.push(arg.into());
        self
    }

    /// More arguments, passed as they are after the others.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra.extend(args.into_iter().map(Into::into));
        self
    }

    /// The file prefix, if one was set (for [`crate::runtime_dir`]).
    pub fn prefix(&self) -> Option<&str> {
        self.file_prefix.as_deref()
    }

    /// The argv to pass to [`crate::Eal::init`].
    pub fn build(&self) -> Vec<String> {
        let mut v = vec![self.program.clone()];
        if let Some((flag, spec)) = &self.lcores {
            v.extend([(*flag).to_owned(), spec.clone()]);
        }
        if let Some(id) = self.main_lcore {
            v.extend(["--main-lcore".to_owned(), id.to_string()]);
        }
        match &self.memory {
            Memory::Default => {}
            Memory::NoHuge { mb } => {
                v.extend(["--no-huge".to_owned(), "-m".to_owned(), mb.to_string()])
            }
            Memory::SocketMem(mbs) => {
                let list: Vec<String> = mbs.iter().map(u32::to_string).collect();
                v.extend(["--socket-mem".to_owned(), list.join(",")]);
            }
        }
        if let Some(prefix) = &self.file_prefix {
            v.extend(["--file-prefix".to_owned(), prefix.clone()]);
        }
        if self.in_memory {
            let no_huge = matches!(self.memory, Memory::NoHuge { .. });
            v.push(
                if no_huge {
                    "--no-shconf"
                } else {
                    "--in-memory"
                }
                .to_owned(),
            );
        }
        if self.pci.is_empty() {
            v.push("--no-pci".to_owned());
        }
        for addr in &self.pci {
            v.extend(["-a".to_owned(), addr.clone()]);
        }
        for spec in &self.vdevs {
            v.extend(["--vdev".to_owned(), spec.clone()]);
        }
        for spec in &self.log_levels {
            v.extend(["--log-level".to_owned(), spec.clone()]);
        }
        v.extend(self.extra.iter().cloned());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn bare_args_are_program_and_no_pci() {
        assert_eq!(EalArgs::new("edgelb").build(), s(&["edgelb", "--no-pci"]));
    }

    #[test]
    fn lab_args_in_order() {
        let args = EalArgs::new("edgelb-dataplane")
            .lcore_list("0-2")
            .main_lcore(0)
            .no_huge(1024)
            .file_prefix("edgelb")
            .in_memory()
            .vdev("net_af_packet0,iface=cl-lb")
            .vdev("net_af_packet1,iface=lb-nodes")
            .log_level("pmd.net.af_packet:debug")
            .arg("--no-telemetry")
            .build();
        assert_eq!(
            args,
            s(&[
                "edgelb-dataplane",
                "-l",
                "0-2",
                "--main-lcore",
                "0",
                "--no-huge",
                "-m",
                "1024",
                "--file-prefix",
                "edgelb",
                "--no-shconf",
                "--no-pci",
                "--vdev",
                "net_af_packet0,iface=cl-lb",
                "--vdev",
                "net_af_packet1,iface=lb-nodes",
                "--log-level",
                "pmd.net.af_packet:debug",
                "--no-telemetry",
            ])
        );
    }

    #[test]
    fn in_memory_with_hugepages() {
        let args = EalArgs::new("p").socket_mem(&[512]).in_memory().build();
        assert_eq!(
            args,
            s(&["p", "--socket-mem", "512", "--in-memory", "--no-pci"])
        );
    }

    #[test]
    fn pci_devices_replace_no_pci() {
        let args = EalArgs::new("p")
            .pci("0000:01:00.0")
            .pci("0000:01:00.1")
            .build();
        assert_eq!(args, s(&["p", "-a", "0000:01:00.0", "-a", "0000:01:00.1"]));
    }

    #[test]
    fn exclusive_options_replace_each_other() {
        let args = EalArgs::new("p")
            .no_huge(256)
            .socket_mem(&[1024, 512])
            .lcore_list("0-1")
            .lcore_map("0@3,1@4");
        assert_eq!(
            args.build(),
            s(&[
                "p",
                "--lcores",
                "0@3,1@4",
                "--socket-mem",
                "1024,512",
                "--no-pci"
            ])
        );
        let args = EalArgs::new("p").socket_mem(&[64]).no_huge(128);
        assert_eq!(
            args.build(),
            s(&["p", "--no-huge", "-m", "128", "--no-pci"])
        );
    }

    #[test]
    fn prefix_is_readable_and_extra_args_keep_order() {
        let args = EalArgs::new("p")
            .file_prefix("lab1")
            .args(["-n", "4"])
            .arg("--huge-unlink");
        assert_eq!(args.prefix(), Some("lab1"));
        assert_eq!(
            args.build(),
            s(&[
                "p",
                "--file-prefix",
                "lab1",
                "--no-pci",
                "-n",
                "4",
                "--huge-unlink"
            ])
        );
        assert_eq!(EalArgs::new("p").prefix(), None);
    }
}

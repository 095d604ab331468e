//! Build script: finds the system DPDK with pkg-config, generates the bindings with bindgen and
//! compiles the C shim that exports DPDK's static inline functions.
//!
//! Failures print one line that says what is missing and how to get it, instead of a bindgen or
//! linker backtrace.

use std::env;
use std::path::PathBuf;
use std::process::{exit, Command};

/// The oldest DPDK whose ABI the bindings and the shim are written for.
const MIN_DPDK: &str = "22.11";

fn main() {
    println!("cargo:rerun-if-changed=src/wrapper.h");
    println!("cargo:rerun-if-changed=src/shim.h");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let lib = match pkg_config::Config::new()
        .atleast_version(MIN_DPDK)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(err) => fail(&format!(
            "edgelb-dpdk-sys: DPDK development files not found (pkg-config libdpdk >= {MIN_DPDK}): \
             run scripts/setup\n  pkg-config said: {err}"
        )),
    };
    let cflags = dpdk_cflags();
    println!("cargo:version={}", lib.version);

    compile_shim(&cflags);
    generate_bindings(&cflags);
}

/// The compiler flags DPDK asks for, as pkg-config prints them: include paths, but also
/// `-include rte_config.h` and `-march=...`, which `pkg_config::Library` does not keep.
fn dpdk_cflags() -> Vec<String> {
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_owned());
    let out = Command::new(&pkg_config)
        .args(["--cflags", "libdpdk"])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
        }
        _ => fail("edgelb-dpdk-sys: DPDK development files not found (pkg-config libdpdk): run scripts/setup"),
    }
}

fn compile_shim(cflags: &[String]) {
    let mut build = cc::Build::new();
    build
        .file("src/shim.c")
        .include("src")
        .warnings(true)
        .opt_level(3);
    // `-include` takes its file as the next word: pass the pair through unchanged.
    for flag in cflags {
        build.flag(flag);
    }
    if let Err(err) = build.try_compile("edgelb_dpdk_shim") {
        fail(&format!(
            "edgelb-dpdk-sys: compiling src/shim.c against DPDK failed: {err}"
        ));
    }
}

fn generate_bindings(cflags: &[String]) {
    let builder = bindgen::Builder::default()
        .header("src/wrapper.h")
        .clang_arg("-Isrc")
        .clang_args(cflags)
        .allowlist_function("rte_.*")
        .allowlist_function("edgelb_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*")
        .allowlist_var("edgelb_.*")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("LCORE_ID_ANY")
        .allowlist_var("RING_F_.*")
        // The ethdev/mbuf internals have packed + aligned structs that Rust cannot lay out;
        // nothing in edgelb reads their fields.
        .opaque_type("rte_arp_ipv4")
        .opaque_type("rte_arp_hdr")
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .opaque_type("rte_gtp_psc_generic_hdr")
        .prepend_enum_name(false)
        .derive_default(true)
        .derive_debug(true)
        .generate_comments(false)
        .layout_tests(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    // bindgen panics (rather than returning an error) when it cannot load libclang.
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || builder.generate()));
    let _ = std::panic::take_hook();
    let bindings = match generated {
        Ok(Ok(b)) => b,
        Ok(Err(err)) => fail(&format!(
            "edgelb-dpdk-sys: bindgen failed on the DPDK headers: {err}"
        )),
        Err(_) => fail("edgelb-dpdk-sys: libclang not found: run scripts/setup"),
    };
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")));
    if let Err(err) = bindings.write_to_file(out.join("bindings.rs")) {
        fail(&format!("edgelb-dpdk-sys: writing bindings.rs: {err}"));
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    println!("cargo:warning={}", msg.lines().next().unwrap_or(msg));
    exit(1);
}

//! Build script for `dpdk-sys`.
//!
//! 1. Finds DPDK (at least 22.11) with pkg-config; the `pkg-config` crate emits
//!    the (shared) link flags.
//! 2. Compiles `src/shim.c`, which gives DPDK's static-inline functions, macros
//!    and thread-local `rte_errno` an address Rust can call.
//! 3. Generates Rust bindings for `src/shim.h` with bindgen into
//!    `$OUT_DIR/bindings.rs`.
//!
//! Compile flags come from the raw `pkg-config --cflags libdpdk` output, not
//! from the `pkg-config` crate: the crate keeps only `-I`/`-D` and drops
//! `-include rte_config.h` and `-march=corei7`. Without the first, DPDK's
//! headers miss their configuration; without the second, the shim fails with
//! "inlining failed in call to always_inline '_mm_alignr_epi8'".
//!
//! There is deliberately no fallback when DPDK is missing: the build fails with
//! a message saying what to install. That is why this crate is outside the
//! Meridian workspace and only reached through the appliance's `dpdk` feature.

use std::env;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use bindgen::callbacks::{IntKind, ParseCallbacks};

/// Oldest DPDK release these bindings and the shim are written against.
const MIN_DPDK_VERSION: &str = "22.11";
/// pkg-config package name of DPDK.
const PKG_NAME: &str = "libdpdk";
/// Said in every failure message.
const INSTALL_HINT: &str = "install DPDK >= 22.11 development files \
     (Debian 12: `apt-get install -y libdpdk-dev dpdk pkg-config clang libclang-dev`) \
     or point PKG_CONFIG_PATH at a libdpdk.pc";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/shim.h");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let library = pkg_config::Config::new()
        .atleast_version(MIN_DPDK_VERSION)
        .statik(false)
        .probe(PKG_NAME)
        .unwrap_or_else(|e| panic!("dpdk-sys: DPDK not found: {e}\n{INSTALL_HINT}"));
    let cflags = raw_cflags();

    // Exported to dependents' build scripts as DEP_DPDK_VERSION / DEP_DPDK_CFLAGS.
    println!("cargo:version={}", library.version);
    println!("cargo:cflags={}", cflags.join(" "));

    let started = Instant::now();
    let mut shim = cc::Build::new();
    shim.file("src/shim.c").warnings(true).extra_warnings(true);
    for flag in &cflags {
        shim.flag(flag);
    }
    shim.compile("meridian_dpdk_shim");
    println!(
        "dpdk-sys: shim compiled in {} ms",
        started.elapsed().as_millis()
    );

    let started = Instant::now();
    generate_bindings(&cflags, &out_dir);
    println!(
        "dpdk-sys: bindgen took {} ms",
        started.elapsed().as_millis()
    );
}

/// The compile flags exactly as `pkg-config --cflags libdpdk` prints them, in
/// order, so that `-include rte_config.h` stays one flag pair.
fn raw_cflags() -> Vec<String> {
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_owned());
    let output = Command::new(&pkg_config)
        .args(["--cflags", PKG_NAME])
        .output()
        .unwrap_or_else(|e| panic!("dpdk-sys: cannot run `{pkg_config}`: {e}\n{INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "dpdk-sys: `{pkg_config} --cflags {PKG_NAME}` failed: {}\n{INSTALL_HINT}",
        String::from_utf8_lossy(&output.stderr)
    );
    // DPDK's .pc file has no quoted arguments, so whitespace splitting is exact.
    let flags: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(
        flags.iter().any(|f| f == "-include") && flags.iter().any(|f| f.starts_with("-march=")),
        "dpdk-sys: expected `-include rte_config.h` and `-march=...` in `pkg-config --cflags \
         {PKG_NAME}`, got {flags:?}"
    );
    flags
}

fn generate_bindings(cflags: &[String], out_dir: &std::path::Path) {
    let rust_target = env::var("CARGO_PKG_RUST_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<bindgen::RustTarget>()
                .expect("rust-version is a valid Rust target")
        })
        .unwrap_or_default();

    let bindings = bindgen::Builder::default()
        .header("src/shim.h")
        .clang_args(cflags)
        .rust_target(rust_target)
        .rust_edition(bindgen::RustEdition::Edition2021)
        // Without an allowlist the output drags in compiler-intrinsic vector
        // types that do not compile. Types are pulled in as needed.
        .allowlist_function("(rte|shim)_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*|RING_F_.*|SOCKET_ID_ANY|LCORE_ID_ANY")
        // Debug cannot be derived for this one (bitfield + packed).
        .no_debug("rte_flow_item_gtp_psc")
        // Packed structs containing aligned members: Rust rejects the layout.
        .opaque_type("rte_arp_ipv4|rte_arp_hdr")
        // Constants defined through RTE_BIT64() etc., e.g.
        // RTE_ETH_RX_OFFLOAD_TIMESTAMP, need clang to evaluate them.
        .clang_macro_fallback()
        .clang_macro_fallback_build_dir(out_dir)
        .parse_callbacks(Box::new(FlagWidths))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .default_enum_style(bindgen::EnumVariation::ModuleConsts)
        .derive_default(true)
        .generate_cstr(true)
        .merge_extern_blocks(true)
        .wrap_unsafe_ops(true)
        // Layout checks are emitted as `const _: () = { ... }` assertions, so a
        // struct that disagrees with the C compiler is a build error.
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| panic!("dpdk-sys: bindgen failed: {e}"));

    bindings
        .write_to_file(out_dir.join("bindings.rs"))
        .expect("dpdk-sys: cannot write bindings.rs");
}

/// Gives 64-bit flag macros a `u64` type. bindgen would otherwise pick the
/// smallest fitting type per value (`u32` for `1ULL << 9`), so flags of one
/// mask would not combine without casts.
#[derive(Debug)]
struct FlagWidths;

impl ParseCallbacks for FlagWidths {
    fn int_macro(&self, name: &str, _value: i64) -> Option<IntKind> {
        let is_u64_flag = name.starts_with("RTE_MBUF_F_")
            || name.contains("_OFFLOAD_")
            || name.starts_with("RTE_ETH_RSS_");
        is_u64_flag.then_some(IntKind::U64)
    }
}

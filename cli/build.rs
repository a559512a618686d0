//! Code layout of the release `bosun` binary.
//!
//! A node agent runs a few MiB of the binary's code, but scattered through 24 MiB of text it
//! faults in most of those pages. `symbol-order.txt` (written by `scripts/symbol-order.sh`, from
//! callgrind's record of an agent's life) lists the functions it runs; a release link for
//! x86-64 Linux hands the list to the linker (rust-lld, the default there since Rust 1.90),
//! which places those functions side by side. docs/architecture.md, "Code layout", has figures.
//!
//! Symbol names carry each crate's hash, which depends on the toolchain, Cargo.lock and the
//! profile, so the list is used only when its fingerprint (rustc commit, Cargo.lock digest)
//! matches this build; otherwise the build warns and links in the default order.
//! `BOSUN_NO_SYMBOL_ORDER=1` turns it off, as does a linker of one's own.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const LIST: &str = "symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-env-changed=BOSUN_NO_SYMBOL_ORDER");
    if !wanted() {
        return;
    }
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let list = dir.join(LIST);
    match matches_build(&list, &dir.join("../Cargo.lock")) {
        Ok(()) => {
            println!(
                "cargo:rustc-link-arg-bin=bosun=-Wl,--symbol-ordering-file={}",
                list.display()
            );
            println!("cargo:rustc-link-arg-bin=bosun=-Wl,--no-warn-symbol-ordering");
        }
        Err(why) => println!(
            "cargo:warning=linking bosun without cli/{LIST} ({why}); an idle agent then maps \
             about twice the code: run scripts/symbol-order.sh to remake the list"
        ),
    }
}

/// A release build for x86-64 Linux with rustc's own linker setup.
fn wanted() -> bool {
    let var = |name| env::var(name).unwrap_or_default();
    var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("BOSUN_NO_SYMBOL_ORDER").is_empty()
        && env::var_os("RUSTC_LINKER").is_none()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link")
}

/// Whether the list was made by this toolchain from this Cargo.lock.
fn matches_build(list: &Path, lock: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(list).map_err(|e| format!("reading it: {e}"))?;
    let field = |key: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix("# ")?.strip_prefix(key)?.strip_prefix(' '))
            .next()
            .map(str::trim)
    };
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("running {rustc} -vV: {e}"))?;
    let version = String::from_utf8_lossy(&version.stdout);
    let commit = version
        .lines()
        .find_map(|l| l.strip_prefix("commit-hash: "))
        .unwrap_or("unknown");
    if field("rustc") != Some(commit) {
        return Err(format!(
            "it was made with rustc {}, this is rustc {commit}",
            field("rustc").unwrap_or("unknown")
        ));
    }
    let lock = std::fs::read(lock).map_err(|e| format!("reading Cargo.lock: {e}"))?;
    if field("Cargo.lock") != Some(fnv1a(&lock).as_str()) {
        return Err("it was made from another Cargo.lock".into());
    }
    Ok(())
}

/// FNV-1a, 64-bit, in hex: the digest scripts/symbol-order.sh writes.
fn fnv1a(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

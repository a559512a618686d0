//! Builds the pod sandbox's `pause` binary (`pause/pause.c`) as a static executable, which the
//! agent embeds and imports into the engine as an image of that one file: no registry needed.
//!
//! Needs a C compiler (`$CC`, else `cc`) and the static C library (Debian: `libc6-dev`, which
//! Rust's own linking already needs; Fedora: `glibc-static`). Without them the agent still
//! builds, warns, and refuses pods of several containers with a message saying why.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=pause/pause.c");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let binary = out.join("pause");
    let cross = std::env::var("TARGET").ok() != std::env::var("HOST").ok();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = !cross
        && Command::new(&cc)
            .args(["-static", "-Os", "-s", "-o"])
            .arg(&binary)
            .arg("pause/pause.c")
            .status()
            .is_ok_and(|s| s.success());
    if !built {
        let why = if cross {
            "cross-compiling".to_string()
        } else {
            format!("`{cc} -static pause/pause.c` failed (is the static C library installed?)")
        };
        println!(
            "cargo:warning=the pod sandbox binary was not built ({why}): this agent refuses \
             pods of several containers"
        );
        // Never there, so the next build tries again (the library may be installed by then).
        println!("cargo:rerun-if-changed=pause/.try-again");
        // An empty file keeps `include_bytes!` compiling.
        std::fs::write(&binary, b"").expect("OUT_DIR is writable");
    }
}

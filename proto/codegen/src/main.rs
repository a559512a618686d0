//! Writes the tonic/prost code for `proto/proto/bosun.proto` into `proto/src/gen`.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("src/gen");
    std::fs::create_dir_all(&out)?;
    tonic_prost_build::configure()
        .out_dir(&out)
        .compile_protos(&[root.join("proto/bosun.proto")], &[root.join("proto")])?;
    println!("wrote {}", out.display());
    Ok(())
}

//! Writes the tonic/prost code for `proto/proto/bosun.proto` into `proto/src/gen`.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("src/gen");
    std::fs::create_dir_all(&out)?;
    // Object JSON the master sends is encoded once per object version and shared
    // (`bytes::Bytes`), not copied into each message.
    let shared_json = [
        ".bosun.v1.ObjectResponse.object",
        ".bosun.v1.ListResponse.objects",
        ".bosun.v1.WatchEvent.object",
        ".bosun.v1.PodAssignment.upsert",
        ".bosun.v1.PodAssignment.config",
    ];
    shared_json
        .iter()
        .fold(tonic_prost_build::configure(), |b, path| b.bytes(path))
        // Prost's codec with a smaller encode buffer (proto/src/codec.rs says why).
        .codec_path("crate::codec::Codec")
        .out_dir(&out)
        .compile_protos(&[root.join("proto/bosun.proto")], &[root.join("proto")])?;
    println!("wrote {}", out.display());
    Ok(())
}

//! Compiles every `.proto` under `proto/` with protox (pure Rust; no system `protoc`) and
//! generates prost types. The descriptor set is written to `OUT_DIR` so the JSON layer can
//! walk messages by reflection.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|x| x == "proto") {
            out.push(path);
        }
    }
}

fn main() {
    let root = Path::new("proto");
    println!("cargo:rerun-if-changed=proto");
    let mut files = Vec::new();
    collect(root, &mut files);
    let rel: Vec<PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(root).expect("under proto/").to_path_buf())
        .collect();
    let fds = protox::compile(&rel, [root]).unwrap_or_else(|e| panic!("compiling protos: {e}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(
        out.join("file_descriptor_set.bin"),
        prost::Message::encode_to_vec(&fds),
    )
    .expect("writing descriptor set");
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    // One file nesting every package as modules (`mesos::v1::scheduler`, `mesos::internal`, ...).
    config.include_file("mesos_protos.rs");
    config
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("generating code: {e}"));
}

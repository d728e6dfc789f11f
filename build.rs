//! Compiles every `.proto` file under `proto/` into Rust types with prost-build.
//!
//! The schemas are parsed by protox (pure Rust), so building TeslaSync needs no `protoc` on the
//! machine. Each protobuf package becomes `$OUT_DIR/<package>.rs`; modules include it with
//! `include!(concat!(env!("OUT_DIR"), "/<package>.rs"))`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=proto");
    let mut files: Vec<PathBuf> = std::fs::read_dir("proto")
        .map(|dir| {
            dir.filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    if files.is_empty() {
        return;
    }
    let descriptors = protox::compile(&files, ["proto"]).unwrap_or_else(|e| panic!("{e:?}"));
    prost_build::Config::new()
        // Signed-command sessions are persisted per domain (`tesla::command::session`).
        .type_attribute(
            ".UniversalMessage.Domain",
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"snake_case\")]",
        )
        .compile_fds(descriptors)
        .unwrap_or_else(|e| panic!("prost-build: {e}"));
}

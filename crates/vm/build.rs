//! Embeds the default core library (`smalltalk/core/*.som`) and the hypervisor library
//! (`smalltalk/hypervisor/*.som`) into the VM binary, so that `espell` runs from any
//! directory.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn embed(out: &mut String, constant: &str, dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(listing) = fs::read_dir(dir) {
        for entry in listing.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "som") {
                let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                println!("cargo:rerun-if-changed={}", path.display());
                entries.push((name, fs::canonicalize(&path).unwrap_or(path)));
            }
        }
    }
    entries.sort();
    out.push_str(&format!(
        "/// Embedded class files of `{}`: (class name, source).\npub static {constant}: &[(&str, &str)] = &[\n",
        dir.display()
    ));
    for (name, path) in &entries {
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut out = String::new();
    embed(&mut out, "CORE_LIBRARY", &manifest.join("../../smalltalk/core"));
    embed(
        &mut out,
        "HYPERVISOR_LIBRARY",
        &manifest.join("../../smalltalk/hypervisor"),
    );
    embed(&mut out, "NET_LIBRARY", &manifest.join("../../smalltalk/net"));
    let dest = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it")).join("core_library.rs");
    fs::write(dest, out).expect("write core_library.rs");
}

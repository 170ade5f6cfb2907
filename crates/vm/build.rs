//! Embeds the default core library (`smalltalk/core/*.som`) into the VM binary, so that
//! `espell` runs from any directory.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let core = manifest.join("../../smalltalk/core");
    println!("cargo:rerun-if-changed={}", core.display());
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(dir) = fs::read_dir(&core) {
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "som") {
                let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                println!("cargo:rerun-if-changed={}", path.display());
                entries.push((name, fs::canonicalize(&path).unwrap_or(path)));
            }
        }
    }
    entries.sort();
    let mut out = String::from(
        "/// The embedded core library: (class name, source).\npub static CORE_LIBRARY: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &entries {
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it")).join("core_library.rs");
    fs::write(dest, out).expect("write core_library.rs");
}

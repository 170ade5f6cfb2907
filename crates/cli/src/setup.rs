//! Turning command-line class paths into an interpreter.

use espell_vm::{Interp, Loader, VmError};
use std::path::{Path, PathBuf};

/// Splits a `-cp` value (`dir:dir:...`) into directories.
pub fn split_class_path(cp: &str) -> Vec<PathBuf> {
    cp.split(':').filter(|s| !s.is_empty()).map(PathBuf::from).collect()
}

/// Where the program to run is: a class name, or a path to `Name.som` whose directory is
/// prepended to the class path.
pub fn resolve_program(target: &str, class_path: &mut Vec<PathBuf>) -> Result<String, VmError> {
    let path = Path::new(target);
    if target.ends_with(".som") && target.contains('/') && !path.is_file() {
        // A path names a file: say which, not "class Name not found on the class path".
        return Err(VmError::Load(format!("{target}: no such file")));
    }
    if target.ends_with(".som") || target.contains('/') {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        class_path.insert(0, dir.to_path_buf());
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A file that defines a class of another name is run by its path (the class it
        // defines); a parse error is reported when the class is loaded, with its position.
        let defined = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| espell_syntax::parse_class(&text, target).ok())
            .map(|def| def.name);
        return Ok(match defined {
            Some(name) if name != stem => target.to_string(),
            _ => stem,
        });
    }
    Ok(target.to_string())
}

/// A bootstrapped interpreter over `class_path` (and `core`, if given, instead of the
/// embedded core library).
pub fn interpreter(class_path: Vec<PathBuf>, core: Option<PathBuf>) -> Result<Interp, VmError> {
    Interp::new(Loader::new(class_path, core))
}

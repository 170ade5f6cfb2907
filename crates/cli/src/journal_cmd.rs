//! `espell journal DIR`: lists a patch journal and checks every entry; `--verify` replays
//! it on a fresh copy of the program and compares the code digest after every entry with
//! the recorded one; `--compact` drops every update that a later revert undid, together
//! with that revert (ADR 0018).

use espell_chester::journal;
use std::path::Path;

/// Lists the journal in `dir` (every entry's check is verified while reading).
pub fn list(dir: &Path) -> Result<String, String> {
    if !dir.join("journal").is_file() {
        return Err(format!(
            "no journal in {} (espell run --journal DIR writes one)",
            dir.display()
        ));
    }
    let entries = journal::read(dir)?;
    let mut out = format!(
        "journal {}: {} entries, every check passes\n",
        dir.display(),
        entries.len()
    );
    for e in &entries {
        out.push_str(&format!("{}\n", e.line()));
        if !e.summary.is_empty() {
            out.push_str(&format!("    {}\n", e.summary));
        }
    }
    let pairs = journal::cancelled_pairs(&entries);
    if !pairs.is_empty() {
        let named: Vec<String> = pairs.iter().map(|(a, r)| format!("{a}+{r}")).collect();
        out.push_str(&format!(
            "{} update(s) were reverted later (entries {}); --compact drops them\n",
            pairs.len(),
            named.join(", ")
        ));
    }
    Ok(out)
}

/// Replays the journal on a fresh program (class path `class_path`) and compares digests.
pub fn verify(
    dir: &Path,
    class_path: Vec<std::path::PathBuf>,
    core: Option<std::path::PathBuf>,
) -> Result<String, String> {
    let entries = journal::read(dir)?;
    let mut app = crate::setup::interpreter(class_path, core.clone()).map_err(|e| e.to_string())?;
    let hypervisor = espell_vm::hypervisor::Hypervisor::new(core).map_err(|e| e.to_string())?;
    let report = espell_chester::runtime::replay_for_check(&mut app, hypervisor, &entries, &dir.display().to_string())?;
    let mismatches = report.lines().filter(|l| l.starts_with("warning:")).count();
    if mismatches > 0 {
        return Err(format!(
            "{report}journal {}: {mismatches} entr(ies) reach a different code digest than recorded",
            dir.display()
        ));
    }
    Ok(format!(
        "{report}journal {}: verified: every entry replays and reaches its recorded digest\n",
        dir.display()
    ))
}

/// Compacts the journal in place (refused while a program holds it).
pub fn compact(dir: &Path) -> Result<String, String> {
    let _lock = journal::lock(dir)?;
    let entries = journal::read(dir)?;
    let kept = journal::compact(&entries);
    if kept.len() == entries.len() {
        return Ok(format!(
            "journal {}: nothing to compact ({} entries)\n",
            dir.display(),
            entries.len()
        ));
    }
    journal::write_durably(dir, "journal", &journal::render(&kept))
        .map_err(|e| format!("cannot write the journal in {}: {e}", dir.display()))?;
    let dropped: Vec<String> = entries
        .iter()
        .filter(|e| !kept.contains(e))
        .map(|e| e.seq.to_string())
        .collect();
    Ok(format!(
        "journal {}: compacted from {} to {} entries (dropped {}: updates reverted later, with their reverts)\n",
        dir.display(),
        entries.len(),
        kept.len(),
        dropped.join(", ")
    ))
}

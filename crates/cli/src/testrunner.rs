//! The Smalltalk test runner: finds `*Test.som` classes, runs each `test*` method in a fresh
//! interpreter through `TestCase class>>run:`, and reports per test.

use crate::capture::Capture;
use crate::setup::interpreter;
use espell_syntax::{parse_class, MethodBody};
use std::path::{Path, PathBuf};

/// One Smalltalk test: a class and one of its `test*` selectors.
#[derive(Clone, Debug)]
pub struct SmalltalkTest {
    /// The test class name.
    pub class: String,
    /// The test selector.
    pub selector: String,
    /// The directory of the test's file.
    pub dir: PathBuf,
    /// A MOP test: it runs in a hypervisor space inside an update session over a fresh
    /// application space (files under a `hypervisor/` directory).
    pub hypervisor: bool,
}

impl SmalltalkTest {
    /// `Class>>#selector`.
    pub fn name(&self) -> String {
        format!("{}>>#{}", self.class, self.selector)
    }
}

/// The result of one test.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every assertion held.
    Pass,
    /// Assertion failures or an uncaught error, described.
    Fail(String),
}

/// `smalltalk/tests` of this checkout (or of the current directory).
pub fn default_tests_dir() -> PathBuf {
    let local = PathBuf::from("smalltalk/tests");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../smalltalk/tests")
}

/// Name of the directories whose tests run in a hypervisor (and are not on the ordinary
/// class path).
const HYPERVISOR_DIR: &str = "hypervisor";

/// `dir` and every directory below it (except `hypervisor/`), in a stable order: the class
/// path of ordinary tests.
pub fn class_path_for(dir: &Path) -> Vec<PathBuf> {
    all_dirs(dir, false)
}

fn all_dirs(dir: &Path, with_hypervisor: bool) -> Vec<PathBuf> {
    let mut dirs = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < dirs.len() {
        if let Ok(entries) = std::fs::read_dir(&dirs[i]) {
            let mut subs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && (with_hypervisor || p.file_name().is_none_or(|n| n != HYPERVISOR_DIR)))
                .collect();
            subs.sort();
            dirs.extend(subs);
        }
        i += 1;
    }
    dirs
}

/// Every test in `*Test.som` files under `dir`, sorted by class then source order.
pub fn discover(dir: &Path) -> Result<Vec<SmalltalkTest>, String> {
    let mut files = Vec::new();
    for d in all_dirs(dir, true) {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("Test.som"))
            {
                files.push(p);
            }
        }
    }
    files.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    let mut tests = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let def = parse_class(&text, &f.display().to_string()).map_err(|d| d.to_string())?;
        let parent = f.parent().unwrap_or(Path::new(".")).to_path_buf();
        let hypervisor = parent.file_name().is_some_and(|n| n == HYPERVISOR_DIR);
        for m in &def.instance_methods {
            if m.selector.starts_with("test") && m.params.is_empty() && matches!(m.body, MethodBody::Code(_)) {
                tests.push(SmalltalkTest {
                    class: def.name.clone(),
                    selector: m.selector.clone(),
                    dir: parent.clone(),
                    hypervisor,
                });
            }
        }
    }
    Ok(tests)
}

/// Runs one test in a fresh interpreter whose class path is `class_path` (a MOP test in a
/// fresh hypervisor and application space instead).
pub fn run_test(class_path: &[PathBuf], test: &SmalltalkTest) -> Outcome {
    if test.hypervisor {
        return run_mirror_test(test);
    }
    let mut interp = match interpreter(class_path.to_vec(), None) {
        Ok(i) => i,
        Err(e) => return Outcome::Fail(format!("could not start the VM: {e}")),
    };
    let out = Capture::default();
    interp.out = Box::new(out.clone());
    interp.err = Box::new(out.clone());
    let source = format!("{} run: #{}", test.class, test.selector);
    match interp.eval(&source, "test-runner") {
        Ok(v) => match interp.space.str_of(v) {
            Some("") => Outcome::Pass,
            Some(failures) => Outcome::Fail(failures.to_string()),
            None => Outcome::Fail(format!(
                "TestCase class>>run: answered {} instead of a String",
                interp.print_string(v)
            )),
        },
        Err(e) => {
            let printed = out.text();
            let printed = if printed.trim().is_empty() {
                String::new()
            } else {
                format!("\noutput:\n{printed}")
            };
            Outcome::Fail(format!("{e}{printed}"))
        }
    }
}

/// Runs a MOP test: the hypervisor's class path is the test directory's parent (for
/// `TestCase`) and the test directory; the application space's is `app/` below it.
fn run_mirror_test(test: &SmalltalkTest) -> Outcome {
    use espell_vm::hypervisor::Hypervisor;
    let parent = test.dir.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut app = match interpreter(vec![test.dir.join("app")], None) {
        Ok(i) => i,
        Err(e) => return Outcome::Fail(format!("could not start the application space: {e}")),
    };
    let out = Capture::default();
    app.out = Box::new(out.clone());
    app.err = Box::new(out.clone());
    let mut hypervisor = match Hypervisor::with_class_path(vec![parent, test.dir.clone()], None) {
        Ok(h) => h,
        Err(e) => return Outcome::Fail(format!("could not start the hypervisor: {e}")),
    };
    let source = format!("{} run: #{}", test.class, test.selector);
    let result = hypervisor.run_in_session(&mut app, |h, mirror| {
        let name = h.space.symbol("MirrorApp");
        h.space.set_global(name, mirror);
        let v = h.eval(&source, "test-runner")?;
        let text = h
            .space
            .str_of(v)
            .unwrap_or("TestCase class>>run: answered something else")
            .to_string();
        Ok(h.space.new_string(&text))
    });
    match result {
        Ok(v) => match hypervisor.interp.space.str_of(v) {
            Some("") => Outcome::Pass,
            Some(failures) => Outcome::Fail(failures.to_string()),
            None => Outcome::Fail("no answer".into()),
        },
        Err(e) => Outcome::Fail(e.to_string()),
    }
}

//! Runs the Smalltalk test suite (`smalltalk/tests`) under `cargo test`, one libtest test per
//! Smalltalk test method, so failures are reported per test.

use espell_cli::testrunner::{class_path_for, default_tests_dir, discover, run_test, Outcome};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let mut args = Arguments::from_args();
    if args.color.is_none() && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        args.color = Some(libtest_mimic::ColorSetting::Never);
    }
    let dir = default_tests_dir();
    let tests = match discover(&dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot discover Smalltalk tests in {}: {e}", dir.display());
            std::process::exit(1);
        }
    };
    let class_path = class_path_for(&dir);
    let trials = tests
        .into_iter()
        .map(|t| {
            let cp = class_path.clone();
            Trial::test(t.name(), move || match run_test(&cp, &t) {
                Outcome::Pass => Ok(()),
                Outcome::Fail(why) => Err(Failed::from(why)),
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

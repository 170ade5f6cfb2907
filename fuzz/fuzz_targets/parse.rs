//! Feeds arbitrary UTF-8 to the three parser entry points: none may panic, hang or
//! overflow the stack. Run with `cargo fuzz run parse` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = espell_syntax::parse_class(source, "fuzz.som") {
        let _ = e.to_string();
    }
    if let Err(e) = espell_syntax::parse_method(source, "fuzz.st") {
        let _ = e.to_string();
    }
    if let Err(e) = espell_syntax::parse_expression(source, "fuzz.st") {
        let _ = e.to_string();
    }
});

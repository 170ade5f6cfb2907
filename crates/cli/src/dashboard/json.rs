//! A tiny JSON writer for the dashboard's answers (strings escaped per RFC 8259).

/// `s` as a JSON string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Also < and > so that the text can never close a script element.
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '<' || c == '>' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A finite number (JSON has no NaN or infinity: those become 0).
pub fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{}", (x * 1000.0).round() / 1000.0)
    } else {
        "0".into()
    }
}

/// An object from already-encoded values.
pub fn object(members: &[(&str, String)]) -> String {
    let inner: Vec<String> = members.iter().map(|(k, v)| format!("{}:{v}", string(k))).collect();
    format!("{{{}}}", inner.join(","))
}

/// An array from already-encoded values.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\n\u{1}<é"), "\"a\\\"b\\\\c\\n\\u0001\\u003cé\"");
        assert_eq!(number(f64::NAN), "0");
        assert_eq!(number(1.23456), "1.235");
        assert_eq!(object(&[("a", number(1.0))]), "{\"a\":1}");
        assert_eq!(array(vec!["1".to_string(), string("x")]), "[1,\"x\"]");
    }
}

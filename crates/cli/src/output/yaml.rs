//! A small YAML emitter for JSON values: block mappings and sequences, plain scalars where YAML
//! reads them back as the same string, double-quoted ones (JSON escapes, which YAML 1.2 shares)
//! everywhere else — `"true"`, `"123"`, `"null"`, `"a: b"`, `"- x"`, empty strings, anything
//! with control characters or outside printable ASCII.

use serde_json::Value;

/// `value` as a YAML document (ends with a newline).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    if is_block(value) {
        block(value, 0, &mut out);
    } else {
        out.push_str(&scalar(value));
        out.push('\n');
    }
    out
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn block(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                out.push_str(&" ".repeat(indent));
                out.push_str(&string(k));
                out.push(':');
                after_key(val, indent, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push('-');
                after_dash(item, indent, out);
            }
        }
        _ => {}
    }
}

fn after_key(val: &Value, indent: usize, out: &mut String) {
    if is_block(val) {
        out.push('\n');
        block(val, indent + 2, out);
    } else {
        out.push(' ');
        out.push_str(&scalar(val));
        out.push('\n');
    }
}

/// An item of a sequence: a nested block starts on the dash's line.
fn after_dash(item: &Value, indent: usize, out: &mut String) {
    if is_block(item) {
        let mut nested = String::new();
        block(item, indent + 2, &mut nested);
        out.push(' ');
        out.push_str(&nested[indent + 2..]);
    } else {
        out.push(' ');
        out.push_str(&scalar(item));
        out.push('\n');
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string scalar: plain when that reads back as the same string, else double-quoted.
pub fn string(s: &str) -> String {
    if plain_ok(s) {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let printable = s.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    printable
        && !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.ends_with(':')
        && !s.contains(": ")
        && !s.contains(" #")
        && !reserved(s)
        && !numeric(s)
}

/// Words YAML (1.1 or 1.2) reads as null or booleans.
fn reserved(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", "=", "<<",
    ];
    WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Anything a YAML reader might take for a number, date or time: every string that starts with
/// a digit (or a sign or dot before one), plus `.inf` and `.nan` (YAML 1.1 readers resolve
/// `2026-01-02T03:04:05Z`, `1:30` and `0o17` too, so digits first always means quoted).
fn numeric(s: &str) -> bool {
    let lower = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan") {
        return true;
    }
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), _) if c.is_ascii_digit() => true,
        (Some('+' | '-' | '.'), Some(d)) => d.is_ascii_digit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scalars_that_would_change_meaning_are_quoted() {
        for s in [
            "",
            "true",
            "No",
            "null",
            "~",
            "123",
            "1.5",
            "-1",
            "0x1F",
            "1e3",
            ".inf",
            "1:30",
            "a: b",
            "- x",
            "#c",
            "x #c",
            " lead",
            "trail ",
            "key:",
            "{a}",
            "[1]",
            "*ref",
            "&a",
            "!tag",
            "'q'",
            "\"q\"",
            "%x",
            "@x",
            "`x",
            "line\nbreak",
            "tab\t",
            "é",
            "12_000",
            "2026-12-03T11:15:20.247Z",
            "2026-12-03",
            "0o17",
            "+1",
            ".5",
            "=",
            "<<",
            "-.inf",
            ".NaN",
        ] {
            assert!(
                string(s).starts_with('"'),
                "{s:?} should be quoted: {}",
                string(s)
            );
        }
        for s in [
            "hello",
            "zone-1",
            "a:b",
            "http://x/y?z=1",
            "x-y_z",
            "a b",
            "abc123",
            "Default",
        ] {
            assert_eq!(string(s), s, "{s:?} can stay plain");
        }
    }

    #[test]
    fn quoted_strings_escape_like_json() {
        assert_eq!(string("a\"b\n"), r#""a\"b\n""#);
    }

    #[test]
    fn nested_values_render_as_blocks() {
        // (keys in sorted order: serde_json keeps insertion order only with `preserve_order`)
        let v = json!({
            "count": 3,
            "empty": {},
            "id": "z1",
            "items": [{"a": 1, "b": [1, 2]}, [3, 4], "s"],
            "list": [],
            "nested": {"deep": {"x": 1}, "k": "v"},
            "none": null,
            "on": true,
            "tags": ["a", "true"]
        });
        let expected = "\
count: 3
empty: {}
id: z1
items:
  - a: 1
    b:
      - 1
      - 2
  - - 3
    - 4
  - s
list: []
nested:
  deep:
    x: 1
  k: v
none: null
\"on\": true
tags:
  - a
  - \"true\"
";
        assert_eq!(to_yaml(&v), expected);
    }

    #[test]
    fn top_level_scalars_and_empty_containers() {
        assert_eq!(to_yaml(&json!("x")), "x\n");
        assert_eq!(to_yaml(&json!([])), "[]\n");
        assert_eq!(to_yaml(&json!(null)), "null\n");
        assert_eq!(to_yaml(&json!([{"a": {"b": 1}}])), "- a:\n    b: 1\n");
    }
}

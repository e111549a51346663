//! Request bodies from the command line: `--data JSON` (or `@file`, `@-` for stdin) as the base
//! object, then the command's own flags, then each `--set key=value` (dotted keys make nested
//! objects; a value that parses as JSON is taken as JSON, anything else as a string).

use std::io::Read;

use serde_json::{Map, Value};

use crate::error::{CliError, CliResult};

/// The JSON of `--data`: inline, `@path`, or `@-` (stdin).
pub fn read_data(data: &str) -> CliResult<Value> {
    let text = match data.strip_prefix('@') {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| CliError::io(std::path::Path::new("<stdin>"), e))?;
            s
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::io(std::path::Path::new(path), e))?,
        None => data.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("--data is not JSON: {e}")))
}

/// Merges `--data`, the flags (`fields`, only those given) and `--set` pairs into one object.
pub fn build(
    data: Option<&str>,
    fields: Vec<(&str, Option<Value>)>,
    sets: &[String],
) -> CliResult<Value> {
    let mut body = match data.map(read_data).transpose()? {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(CliError::Usage("--data must be a JSON object".into())),
    };
    for (key, value) in fields {
        if let Some(v) = value {
            body.insert(key.to_owned(), v);
        }
    }
    for pair in sets {
        let (key, raw) = pair
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--set `{pair}`: expected key=value")))?;
        set_path(&mut body, key, parse_value(raw))?;
    }
    Ok(Value::Object(body))
}

/// `raw` as JSON when it parses (numbers, booleans, null, arrays, objects, quoted strings),
/// otherwise the string itself.
pub fn parse_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

fn set_path(body: &mut Map<String, Value>, key: &str, value: Value) -> CliResult<()> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(CliError::Usage(format!("--set: `{key}` is not a key")));
    }
    let (last, parents) = parts
        .split_last()
        .ok_or_else(|| CliError::Usage("--set: empty key".into()))?;
    let mut node = body;
    for part in parents {
        let entry = node
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = match entry {
            Value::Object(m) => m,
            _ => return Err(CliError::Usage(format!("--set: `{key}`"))),
        };
    }
    node.insert((*last).to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn data_then_flags_then_sets() {
        let body = build(
            Some(r#"{"name": "from data", "keep": 1, "nested": {"a": 1}}"#),
            vec![("name", Some(json!("from flag"))), ("description", None)],
            &[
                "count=3".into(),
                "on=true".into(),
                "text=hello world".into(),
                "quoted=\"123\"".into(),
                "nested.b=x".into(),
                "deep.er.est=null".into(),
                "list=[1,2]".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "name": "from flag", "keep": 1, "count": 3, "on": true, "text": "hello world",
                "quoted": "123", "nested": {"a": 1, "b": "x"}, "deep": {"er": {"est": null}},
                "list": [1, 2]
            })
        );
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        assert_eq!(build(Some("[1]"), vec![], &[]).unwrap_err().exit_code(), 2);
        assert_eq!(build(Some("{"), vec![], &[]).unwrap_err().exit_code(), 2);
        assert_eq!(
            build(None, vec![], &["novalue".into()])
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            build(None, vec![], &["a..b=1".into()])
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn data_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.json");
        std::fs::write(&path, r#"{"x": "y"}"#).unwrap();
        let body = build(Some(&format!("@{}", path.display())), vec![], &[]).unwrap();
        assert_eq!(body, json!({"x": "y"}));
    }

    #[test]
    fn set_replaces_a_scalar_parent() {
        let body = build(None, vec![], &["a=1".into(), "a.b=2".into()]).unwrap();
        assert_eq!(body, json!({"a": {"b": 2}}));
    }
}

//! How results are printed: a table (default), the raw API JSON (`--json` / `--output json`) or
//! YAML (`--output yaml`). Results go to stdout; messages and errors to stderr.

pub mod table;
pub mod yaml;

use serde_json::Value;

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// Renders a result: `columns` are used for lists in table format.
pub fn render(format: Format, value: &Value, columns: &[&str]) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Yaml => yaml::to_yaml(value),
        Format::Table => match items_of(value) {
            Some(items) => table::list(items, columns),
            None => table::object(value),
        },
    }
}

/// The items of a list answer: a bare array, or the `items` of an envelope.
pub fn items_of(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(a) => Some(a),
        Value::Object(m) => m.get("items").and_then(Value::as_array).map(Vec::as_slice),
        _ => None,
    }
}

/// Prints a result to stdout.
pub fn print(format: Format, value: &Value, columns: &[&str]) {
    print!("{}", render(format, value, columns));
}

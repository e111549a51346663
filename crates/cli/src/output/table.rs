//! Aligned text tables: a list as one row per item over chosen columns, a single object as
//! `FIELD  VALUE` rows. Cells are one line, long ones cut with `…`.

use serde_json::Value;

/// Longest cell shown; the rest is cut.
const MAX_CELL: usize = 60;

/// Rows of `items` under `columns` (dotted paths into each item), with an upper-case header.
pub fn list(items: &[Value], columns: &[&str]) -> String {
    let header: Vec<String> = columns.iter().map(|c| c.to_uppercase()).collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| columns.iter().map(|c| cell(lookup(item, c))).collect())
        .collect();
    render(&header, &rows)
}

/// A single object as `FIELD  VALUE` rows (its top-level fields in order).
pub fn object(value: &Value) -> String {
    let Value::Object(map) = value else {
        return format!("{}\n", cell(Some(value)));
    };
    let header = vec!["FIELD".to_owned(), "VALUE".to_owned()];
    let rows: Vec<Vec<String>> = map
        .iter()
        .map(|(k, v)| vec![k.clone(), cell(Some(v))])
        .collect();
    render(&header, &rows)
}

/// The value at a dotted path (`protocols.oauth2.issuer`).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// One cell: strings bare, null and missing empty, objects and arrays as compact JSON.
pub fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX_CELL {
        let cut: String = one_line.chars().take(MAX_CELL - 1).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

fn render(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            line.push_str(c);
            if i < last {
                line.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_are_aligned_to_the_widest_cell() {
        let items = vec![
            json!({"id": "a", "name": "Alpha zone", "protocols": {"oauth2": {"issuer": "http://i"}}}),
            json!({"id": "bbbbbb", "name": null}),
        ];
        let out = list(&items, &["id", "name", "protocols.oauth2.issuer"]);
        assert_eq!(
            out,
            "ID      NAME        PROTOCOLS.OAUTH2.ISSUER\n\
             a       Alpha zone  http://i\n\
             bbbbbb\n"
        );
    }

    #[test]
    fn empty_list_has_only_the_header() {
        assert_eq!(list(&[], &["id", "name"]), "ID  NAME\n");
    }

    #[test]
    fn objects_show_field_and_value() {
        let out = object(&json!({"id": "x", "n": 3, "tags": ["a"]}));
        assert_eq!(out, "FIELD  VALUE\nid     x\nn      3\ntags   [\"a\"]\n");
    }

    #[test]
    fn long_and_multi_line_cells_are_one_short_line() {
        let long = "x".repeat(100);
        let c = cell(Some(&json!(long)));
        assert_eq!(c.chars().count(), MAX_CELL);
        assert!(c.ends_with('…'));
        assert_eq!(cell(Some(&json!("a\nb"))), "a b");
    }
}

//! A small SQL builder over sqlx's `Any` driver: numbered `$n` placeholders (which both SQLite and
//! PostgreSQL read), typed bind values, row readers, and (in `list`) the cursor-paged list query
//! every resource shares.

use latchkey_domain::StoreError;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::error::OrStore;

mod list;
pub use list::COUNTED_TABLES;
pub(crate) use list::*;

/// A bind value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(Option<Vec<u8>>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Self::OptText(v)
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Self::OptText(v.clone())
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Self::OptInt(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Self::Int(i64::from(v))
    }
}

/// Binds `args` in order to a query.
pub(crate) fn bind_all(
    mut q: Query<'static, Any, AnyArguments>,
    args: &[Arg],
) -> Query<'static, Any, AnyArguments> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s.clone()),
            Arg::OptText(s) => q.bind(s.clone()),
            Arg::Int(i) => q.bind(*i),
            Arg::OptInt(i) => q.bind(*i),
            Arg::Bytes(b) => q.bind(b.clone()),
        };
    }
    q
}

impl From<Option<Vec<u8>>> for Arg {
    fn from(v: Option<Vec<u8>>) -> Self {
        Self::Bytes(v)
    }
}
impl From<&Option<Vec<u8>>> for Arg {
    fn from(v: &Option<Vec<u8>>) -> Self {
        Self::Bytes(v.clone())
    }
}

/// An optional value stored as JSON text.
pub(crate) fn json<T: serde::Serialize>(v: Option<&T>) -> Arg {
    Arg::OptText(v.and_then(|v| serde_json::to_string(v).ok()))
}

/// `INSERT INTO table (cols…) VALUES ($1, …)`.
pub(crate) fn insert_row(table: &str, values: Vec<(&str, Arg)>) -> Sql {
    let cols: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
    let mut sql = Sql::new(format!(
        "INSERT INTO {table} ({}) VALUES (",
        cols.join(", ")
    ));
    for (i, (_, v)) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v);
    }
    sql.push(")");
    sql
}

/// `UPDATE table SET col = $n, … WHERE key = $m AND …`.
pub(crate) fn update_row(table: &str, set: Vec<(&str, Arg)>, keys: Vec<(&str, Arg)>) -> Sql {
    let mut sql = Sql::new(format!("UPDATE {table} SET "));
    for (i, (c, v)) in set.into_iter().enumerate() {
        sql.push(if i > 0 { ", " } else { "" })
            .push(c)
            .push(" = ")
            .bind(v);
    }
    for (i, (c, v)) in keys.into_iter().enumerate() {
        sql.push(if i > 0 { " AND " } else { " WHERE " })
            .push(c)
            .push(" = ")
            .bind(v);
    }
    sql
}

/// Reads an optional JSON text column.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, sqlx::Error> {
    // Borrowed from the row: the JSON is parsed in place, with no copy of its text.
    let text: Option<&str> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(t).map_err(|e| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: e.into(),
        })
    })
    .transpose()
}

/// Reads a millisecond timestamp column.
pub(crate) fn ts(row: &AnyRow, column: &str) -> Result<latchkey_domain::Timestamp, sqlx::Error> {
    Ok(latchkey_domain::Timestamp::from_millis(
        row.try_get(column)?,
    ))
}

/// Reads an optional millisecond timestamp column.
pub(crate) fn opt_ts(
    row: &AnyRow,
    column: &str,
) -> Result<Option<latchkey_domain::Timestamp>, sqlx::Error> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .map(latchkey_domain::Timestamp::from_millis))
}

/// Reads a text column through `parse`, failing the row on an unknown value.
pub(crate) fn parsed<T>(
    row: &AnyRow,
    column: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    let text: &str = row.try_get(column)?;
    parse(text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unknown value `{text}`").into(),
    })
}

/// Executes `sql` and reports whether it touched a row.
pub(crate) async fn touched<'e, E: sqlx::Executor<'e, Database = Any>>(
    exec: E,
    sql: &Sql,
) -> Result<bool, StoreError> {
    Ok(sql.query().execute(exec).await.store()?.rows_affected() > 0)
}

/// SQL text plus its bind values; `arg` appends a value and returns its placeholder.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a bind value and its `$n` placeholder.
    pub fn bind(&mut self, v: impl Into<Arg>) -> &mut Self {
        self.args.push(v.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// The query with its values bound. The text is built only from this crate's constants and
    /// `$n` placeholders; every value from outside is bound, never spliced.
    pub fn query(&self) -> Query<'static, Any, AnyArguments> {
        bind_all(
            sqlx::query(sqlx::AssertSqlSafe(self.text.clone())),
            &self.args,
        )
    }
}

/// A `WHERE` clause assembled from conditions joined by `AND`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    parts: Vec<(String, Vec<Arg>)>,
}

impl Filter {
    /// Adds `column = value`.
    pub fn eq(mut self, column: &str, v: impl Into<Arg>) -> Self {
        self.parts.push((format!("{column} = ?"), vec![v.into()]));
        self
    }

    /// Adds `column = value` when `v` is present.
    pub fn eq_opt(self, column: &str, v: Option<impl Into<Arg>>) -> Self {
        match v {
            Some(v) => self.eq(column, v),
            None => self,
        }
    }

    /// Adds `column IN (values)` (an empty list matches nothing).
    pub fn in_list(mut self, column: &str, values: &[String]) -> Self {
        if values.is_empty() {
            self.parts.push(("1 = 0".to_owned(), Vec::new()));
        } else {
            let marks = vec!["?"; values.len()].join(", ");
            self.parts.push((
                format!("{column} IN ({marks})"),
                values.iter().map(Arg::from).collect(),
            ));
        }
        self
    }

    /// Adds "any of `columns` contains any of `terms`", case-insensitively, with `%`, `_` and
    /// `\` in terms matched literally.
    pub fn contains_any(mut self, columns: &[&str], terms: &[String]) -> Self {
        let mut ors = Vec::new();
        let mut args = Vec::new();
        for term in terms {
            let escaped = term
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            for col in columns {
                ors.push(format!("LOWER({col}) LIKE ? ESCAPE '\\'"));
                args.push(Arg::Text(format!("%{escaped}%")));
            }
        }
        self.parts.push((format!("({})", ors.join(" OR ")), args));
        self
    }

    /// Adds "the row is among `index`'s candidates for `terms` in `columns`": an FTS5 trigram
    /// match (SQLite), which finds every row that contains a term of three or more characters,
    /// case-insensitively. Nothing is added when a term is shorter (a trigram index cannot
    /// answer it), so the exact condition that follows scans as before.
    pub fn search_candidates(mut self, index: &str, columns: &[&str], terms: &[String]) -> Self {
        let Some(query) = fts_query(columns, terms) else {
            return self;
        };
        self.parts.push((
            format!("rowid IN (SELECT rowid FROM {index} WHERE {index} MATCH ?)"),
            vec![Arg::Text(query)],
        ));
        self
    }

    /// The zone of a filter whose only condition is `zone_id = ?`.
    pub fn zone_only(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [(text, args)] if text == "zone_id = ?" => match args.as_slice() {
                [Arg::Text(zone)] => Some(zone),
                _ => None,
            },
            _ => None,
        }
    }

    /// Adds a raw condition with `?` markers for `args`.
    pub fn raw(mut self, condition: &str, args: Vec<Arg>) -> Self {
        self.parts.push((condition.to_owned(), args));
        self
    }

    /// Writes ` WHERE …` (or nothing) into `sql`, numbering the `?` markers.
    pub fn write(&self, sql: &mut Sql, extra: Option<(String, Vec<Arg>)>) {
        let mut first = true;
        let all = self.parts.iter().cloned().chain(extra);
        for (text, args) in all {
            sql.push(if first { " WHERE " } else { " AND " });
            first = false;
            let mut args = args.into_iter();
            for (i, piece) in text.split('?').enumerate() {
                if i > 0
                    && let Some(a) = args.next()
                {
                    sql.bind(a);
                }
                sql.push(piece);
            }
        }
    }
}

/// Reads a 0/1 integer column as a flag.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// The FTS5 query that finds the rows containing any of `terms` in `columns` (case-insensitive
/// trigrams), or `None` when a term is too short for a trigram index to answer.
pub(crate) fn fts_query(columns: &[&str], terms: &[String]) -> Option<String> {
    let terms: Vec<String> = terms.iter().map(|t| t.to_lowercase()).collect();
    if terms.is_empty() || terms.iter().any(|t| t.chars().count() < 3) {
        return None;
    }
    let phrases: Vec<String> = terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    Some(format!(
        "{{{}}} : ({})",
        columns.join(" "),
        phrases.join(" OR ")
    ))
}

//! A small SQL builder over sqlx's `Any` driver: numbered `$n` placeholders (which both SQLite and
//! PostgreSQL read), typed bind values, and the cursor-paged list query every resource shares.

use latchkey_domain::id::ZoneId;
use latchkey_domain::page::sort_signature;
use latchkey_domain::{Cursor, ListFilter, Page, PageRequest, SortValue, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::error::OrStore;

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
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| sqlx::Error::ColumnDecode {
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
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
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

/// Sortable by creation time only.
pub(crate) const BY_CREATED: &[(&str, &str, SortKind)] =
    &[("created_at", "created_at", SortKind::Int)];

/// Sort keys of the named directory objects (applications, providers, resources).
pub(crate) const BY_NAME: &[(&str, &str, SortKind)] = &[
    ("created_at", "created_at", SortKind::Int),
    ("name", "name", SortKind::Text),
    ("identifier", "identifier", SortKind::Text),
];

/// How a table is listed: its name, the columns to select, and the sortable fields as
/// `(field, SQL expression, kind)`. `created_at` must be among them. Searchable and exact-match
/// fields map to their columns through `fields`.
pub(crate) struct TableSpec {
    pub table: &'static str,
    pub columns: &'static str,
    pub sortable: &'static [(&'static str, &'static str, SortKind)],
    pub fields: &'static [(&'static str, &'static str)],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortKind {
    Int,
    Text,
}

impl TableSpec {
    fn sort_column(&self, field: &str) -> Result<(&'static str, SortKind), StoreError> {
        self.sortable
            .iter()
            .find(|(f, _, _)| *f == field)
            .map(|(_, e, k)| (*e, *k))
            .ok_or_else(|| {
                StoreError::Backend(format!("`{field}` is not sortable on {}", self.table))
            })
    }

    fn column(&self, field: &str) -> Result<&'static str, StoreError> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                StoreError::Backend(format!("`{field}` is not filterable on {}", self.table))
            })
    }

    /// Adds a domain `ListFilter` to `filter`.
    pub fn apply(&self, mut filter: Filter, list: &ListFilter) -> Result<Filter, StoreError> {
        if let Some(ids) = &list.ids {
            filter = filter.in_list("id", ids);
        }
        for (field, values) in &list.exact {
            filter = filter.in_list(self.column(field)?, values);
        }
        for (fields, terms) in &list.search {
            let columns = fields
                .iter()
                .map(|f| self.column(f))
                .collect::<Result<Vec<_>, _>>()?;
            filter = filter.contains_any(&columns, terms);
        }
        Ok(filter)
    }
}

/// Runs a cursor-paged list in the requested order, `id` breaking ties.
pub(crate) async fn list_page<T>(
    pool: &sqlx::AnyPool,
    spec: &TableSpec,
    filter: &Filter,
    page: &PageRequest,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Page<T>, StoreError> {
    let keys: Vec<(&str, SortKind, bool)> = page
        .sort
        .iter()
        .map(|k| spec.sort_column(k.field).map(|(e, kind)| (e, kind, k.desc)))
        .collect::<Result<_, _>>()?;
    let sig = sort_signature(&page.sort);
    let limit = i64::from(page.limit.max(1));
    let backward = page.before.is_some();
    let cursor = page.before.as_ref().or(page.after.as_ref());
    if let Some(c) = cursor {
        let kinds_match = c.keys.iter().zip(&keys).all(|(v, (_, kind, _))| {
            matches!(
                (v, kind),
                (SortValue::Int(_), SortKind::Int) | (SortValue::Text(_), SortKind::Text)
            )
        });
        if c.sig != sig || c.keys.len() != keys.len() || !kinds_match {
            return Err(StoreError::BadCursor);
        }
    }
    let select_keys: String = keys
        .iter()
        .enumerate()
        .map(|(i, (e, _, _))| format!(", {e} AS sk{i}"))
        .collect();
    let mut sql = Sql::new(format!(
        "SELECT {}{select_keys}, id AS page_id FROM {}",
        spec.columns, spec.table
    ));
    filter.write(&mut sql, cursor.map(|c| beyond(&keys, c, !backward)));
    let order: Vec<String> = keys
        .iter()
        .map(|(e, _, desc)| format!("{e} {}", if *desc != backward { "DESC" } else { "ASC" }))
        .chain(std::iter::once(format!(
            "id {}",
            if backward { "DESC" } else { "ASC" }
        )))
        .collect();
    sql.push(&format!(" ORDER BY {}", order.join(", ")));
    sql.push(" LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(pool).await.store()?;
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > take;
    let mut keyed = Vec::with_capacity(rows.len().min(take));
    for row in rows.iter().take(take) {
        let mut values = Vec::with_capacity(keys.len());
        for (i, (_, kind, _)) in keys.iter().enumerate() {
            let col = format!("sk{i}");
            values.push(match kind {
                SortKind::Int => SortValue::Int(row.try_get(col.as_str()).store()?),
                SortKind::Text => SortValue::Text(row.try_get(col.as_str()).store()?),
            });
        }
        let key = Cursor {
            sig: sig.clone(),
            keys: values,
            id: row.try_get("page_id").store()?,
        };
        keyed.push((key, map(row).store()?));
    }
    if backward {
        keyed.reverse();
    }
    let start = keyed.first().map(|(k, _)| k.clone());
    let end = keyed.last().map(|(k, _)| k.clone());
    // The side we did not page towards: is there anything beyond our first (or last) item?
    let other_side = match (backward, &start, &end, cursor) {
        (false, Some(first), _, Some(_)) => exists(pool, spec, filter, &keys, first, false).await?,
        (false, None, _, Some(c)) => exists(pool, spec, filter, &keys, c, false).await?,
        (true, _, Some(last), _) => exists(pool, spec, filter, &keys, last, true).await?,
        (true, _, None, Some(c)) => exists(pool, spec, filter, &keys, c, true).await?,
        _ => false,
    };
    let (has_next, has_prev) = if backward {
        (other_side, more)
    } else {
        (more, other_side)
    };
    let total = if page.with_total {
        Some(count(pool, spec.table, filter).await?)
    } else {
        None
    };
    Ok(Page {
        items: keyed.into_iter().map(|(_, t)| t).collect(),
        has_next,
        has_prev,
        total,
        start,
        end,
    })
}

/// The keyset condition "after `c`" (`forward`) or "before `c`" in the given order:
/// `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR … OR (k1 = v1 AND … AND id > vid)`, with each
/// comparison flipped for descending keys.
fn beyond(keys: &[(&str, SortKind, bool)], c: &Cursor, forward: bool) -> (String, Vec<Arg>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    let n = keys.len();
    for level in 0..=n {
        let mut parts = Vec::new();
        let mut level_args = Vec::new();
        for (i, (expr, _, _)) in keys.iter().enumerate().take(level) {
            parts.push(format!("{expr} = ?"));
            level_args.push(value_arg(&c.keys[i]));
        }
        let (expr, desc) = if level < n {
            (keys[level].0, keys[level].2)
        } else {
            ("id", false)
        };
        let op = if desc == forward { "<" } else { ">" };
        parts.push(format!("{expr} {op} ?"));
        level_args.push(if level < n {
            value_arg(&c.keys[level])
        } else {
            Arg::Text(c.id.clone())
        });
        clauses.push(format!("({})", parts.join(" AND ")));
        args.extend(level_args);
    }
    (format!("({})", clauses.join(" OR ")), args)
}

fn value_arg(v: &SortValue) -> Arg {
    match v {
        SortValue::Int(i) => Arg::Int(*i),
        SortValue::Text(t) => Arg::Text(t.clone()),
    }
}

async fn exists(
    pool: &sqlx::AnyPool,
    spec: &TableSpec,
    filter: &Filter,
    keys: &[(&str, SortKind, bool)],
    c: &Cursor,
    forward: bool,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new(format!("SELECT 1 AS one FROM {}", spec.table));
    filter.write(&mut sql, Some(beyond(keys, c, forward)));
    sql.push(" LIMIT 1");
    Ok(sql.query().fetch_optional(pool).await.store()?.is_some())
}

/// Number of rows matching `filter`.
pub(crate) async fn count(
    pool: &sqlx::AnyPool,
    table: &str,
    filter: &Filter,
) -> Result<u64, StoreError> {
    let mut sql = Sql::new(format!("SELECT COUNT(*) AS n FROM {table}"));
    filter.write(&mut sql, None);
    let row = sql.query().fetch_one(pool).await.store()?;
    let n: i64 = row.try_get("n").store()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Picks the first of `base`, `base-2`, `base-3`, … not yet used in `column` of `table` within
/// `scope` (a `column = value` pair), inside the caller's transaction.
pub(crate) async fn unique_slug(
    db: &crate::Db,
    tx: &mut sqlx::AnyConnection,
    table: &str,
    column: &str,
    scope: Option<(&str, &str)>,
    base: &str,
) -> Result<String, StoreError> {
    let lock = match scope {
        Some((col, val)) => format!("{table}.{column}:{col}={val}"),
        None => format!("{table}.{column}"),
    };
    db.lock_scope(tx, &lock).await?;
    let mut sql = Sql::new(format!(
        "SELECT {column} AS taken FROM {table} WHERE ({column} = "
    ));
    sql.bind(base)
        .push(&format!(" OR {column} LIKE "))
        .bind(format!("{base}-%"))
        .push(")");
    if let Some((col, val)) = scope {
        sql.push(&format!(" AND {col} = ")).bind(val);
    }
    let taken: Vec<String> = sql
        .query()
        .fetch_all(&mut *tx)
        .await
        .store()?
        .iter()
        .map(|r| r.try_get::<String, _>("taken"))
        .collect::<Result<_, _>>()
        .store()?;
    let mut n = 1;
    loop {
        let candidate = latchkey_domain::text::slug_candidate(base, n);
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// The row `(zone, id)` of a zone-owned table, mapped.
pub(crate) async fn get_one<T>(
    pool: &sqlx::AnyPool,
    spec: &TableSpec,
    zone: &ZoneId,
    id: &str,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, StoreError> {
    let mut sql = Sql::new(format!("SELECT {} FROM {}", spec.columns, spec.table));
    Filter::default()
        .eq("zone_id", zone.as_str())
        .eq("id", id)
        .write(&mut sql, None);
    let row = sql.query().fetch_optional(pool).await.store()?;
    row.as_ref().map(map).transpose().store()
}

/// Deletes the row `(zone, id)` of a zone-owned table; whether it existed.
pub(crate) async fn delete_one(
    pool: &sqlx::AnyPool,
    table: &str,
    zone: &ZoneId,
    id: &str,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new(format!("DELETE FROM {table} WHERE zone_id = "));
    sql.bind(zone.as_str()).push(" AND id = ").bind(id);
    touched(pool, &sql).await
}

/// Reads a 0/1 integer column as a flag.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

//! A small SQL builder over sqlx's `Any` driver: numbered `$n` placeholders (which both SQLite and
//! PostgreSQL read), typed bind values, and the cursor-paged list query every resource shares.

use latchkey_domain::{Cursor, Page, PageRequest, StoreError};
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
        };
    }
    q
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

    /// Writes ` WHERE …` (or nothing) into `sql`, numbering the `?` markers.
    fn write(&self, sql: &mut Sql, extra: Option<(&str, Vec<Arg>)>) {
        let mut first = true;
        let all = self
            .parts
            .iter()
            .map(|(t, a)| (t.as_str(), a.clone()))
            .chain(extra);
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

/// Runs a cursor-paged list over `table` in `(created_at, id)` order.
pub(crate) async fn list_page<T>(
    pool: &sqlx::AnyPool,
    table: &str,
    columns: &str,
    filter: &Filter,
    page: &PageRequest,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Page<T>, StoreError> {
    let limit = i64::from(page.limit.max(1));
    let backward = page.before.is_some();
    let cursor = page.before.as_ref().or(page.after.as_ref());
    let mut sql = Sql::new(format!(
        "SELECT {columns}, created_at AS page_created_at, id AS page_id FROM {table}"
    ));
    filter.write(
        &mut sql,
        cursor.map(|c| beyond(c, if backward { "<" } else { ">" })),
    );
    sql.push(if backward {
        " ORDER BY created_at DESC, id DESC"
    } else {
        " ORDER BY created_at, id"
    });
    sql.push(" LIMIT ").bind(limit + 1);
    let rows = sql.query().fetch_all(pool).await.store()?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        let key = Cursor {
            created_at: row.try_get("page_created_at").store()?,
            id: row.try_get("page_id").store()?,
        };
        keyed.push((key, map(row).store()?));
    }
    if backward {
        keyed.reverse();
    }
    let start = keyed.first().map(|(k, _)| k.clone());
    let end = keyed.last().map(|(k, _)| k.clone());
    // The side we did not page towards: is there anything beyond the cursor (or our first item)?
    let other_side = match (backward, &start, &end, cursor) {
        (false, Some(first), _, Some(_)) => exists(pool, table, filter, first, "<").await?,
        (true, _, Some(last), _) => exists(pool, table, filter, last, ">").await?,
        (false, None, _, Some(c)) => exists(pool, table, filter, c, "<").await?,
        _ => false,
    };
    let (has_next, has_prev) = if backward {
        (other_side, more)
    } else {
        (more, other_side)
    };
    let total = if page.with_total {
        Some(count(pool, table, filter).await?)
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

/// The condition "strictly before/after `c`" in `(created_at, id)` order.
fn beyond(c: &Cursor, op: &str) -> (&'static str, Vec<Arg>) {
    let text: &'static str = if op == "<" {
        "(created_at < ? OR (created_at = ? AND id < ?))"
    } else {
        "(created_at > ? OR (created_at = ? AND id > ?))"
    };
    (
        text,
        vec![
            Arg::Int(c.created_at),
            Arg::Int(c.created_at),
            Arg::Text(c.id.clone()),
        ],
    )
}

async fn exists(
    pool: &sqlx::AnyPool,
    table: &str,
    filter: &Filter,
    c: &Cursor,
    op: &str,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new(format!("SELECT 1 AS one FROM {table}"));
    filter.write(&mut sql, Some(beyond(c, op)));
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
    tx: &mut sqlx::AnyConnection,
    table: &str,
    column: &str,
    scope: Option<(&str, &str)>,
    base: &str,
) -> Result<String, StoreError> {
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

/// Reads a 0/1 integer column as a flag.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

//! Listing and looking up rows: sortable fields per table, the cursor-paged list query every
//! resource shares, counts, unique slugs, and get/delete by `(zone, id)`.

use latchkey_domain::id::ZoneId;
use latchkey_domain::page::sort_signature;
use latchkey_domain::{Cursor, ListFilter, Page, PageRequest, SortValue, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Arg, Filter, Sql, fts_query, touched};
use crate::db::{Backend, Db};
use crate::error::OrStore;

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
    /// `filter` narrowed by the list's ids, exact matches and searches; on SQLite a search of a
    /// table with a trigram index is first narrowed to the index's candidates.
    pub fn apply(
        &self,
        backend: Backend,
        filter: Filter,
        list: &ListFilter,
    ) -> Result<Filter, StoreError> {
        let indexed = backend == Backend::Sqlite && self.search_index().is_some();
        self.build(filter, list, &vec![indexed; list.search.len()])
    }

    /// [`apply`](Self::apply) for a table with a search index, which narrows a search on SQLite
    /// only where the index's candidates are few (at most `MAX_CANDIDATES`). A term found in
    /// more rows is left to the exact condition, which finds a page's matches in index order at
    /// once; the candidate set would have been built whole first (139 ms at 100,000 rows).
    pub async fn apply_searched(
        &self,
        db: &Db,
        filter: Filter,
        list: &ListFilter,
    ) -> Result<Filter, StoreError> {
        let mut narrow = Vec::with_capacity(list.search.len());
        for (fields, terms) in &list.search {
            let pays = match (db.backend(), self.search_index()) {
                (Backend::Sqlite, Some(index)) => match fts_query(&self.columns(fields)?, terms) {
                    Some(query) => few_candidates(db, index, &query).await?,
                    None => false,
                },
                _ => false,
            };
            narrow.push(pays);
        }
        self.build(filter, list, &narrow)
    }

    /// The table's trigram index, if it has one.
    fn search_index(&self) -> Option<&'static str> {
        SEARCH_INDEXES
            .iter()
            .find(|(t, _)| *t == self.table)
            .map(|(_, index)| *index)
    }

    fn columns(&self, fields: &[&str]) -> Result<Vec<&'static str>, StoreError> {
        fields.iter().map(|f| self.column(f)).collect()
    }

    /// `filter` with the list's conditions; search group `i` is first narrowed to the index's
    /// candidates when `narrow[i]`.
    fn build(
        &self,
        mut filter: Filter,
        list: &ListFilter,
        narrow: &[bool],
    ) -> Result<Filter, StoreError> {
        if let Some(ids) = &list.ids {
            filter = filter.in_list("id", ids);
        }
        for (field, values) in &list.exact {
            filter = filter.in_list(self.column(field)?, values);
        }
        for (i, (fields, terms)) in list.search.iter().enumerate() {
            let columns = self.columns(fields)?;
            if narrow.get(i).copied().unwrap_or(false)
                && let Some(index) = self.search_index()
            {
                filter = filter.search_candidates(index, &columns, terms);
            }
            filter = filter.contains_any(&columns, terms);
        }
        Ok(filter)
    }
}

/// Most index candidates a search is narrowed to (see [`TableSpec::apply_searched`]).
const MAX_CANDIDATES: i64 = 2_000;

/// Whether `index` holds at most `MAX_CANDIDATES` rows matching `query` (counting stops there).
async fn few_candidates(db: &Db, index: &str, query: &str) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {index} WHERE {index} MATCH ? LIMIT {})",
        MAX_CANDIDATES + 1
    );
    // (`index` comes from `SEARCH_INDEXES`, a constant; the query is bound)
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(query.to_owned())
        .fetch_one(db.pool())
        .await
        .store()?;
    let n: i64 = row.try_get("n").store()?;
    Ok(n <= MAX_CANDIDATES)
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
    // The sort keys' aliases, named once per query rather than once per row.
    let names: Vec<String> = (0..keys.len()).map(|i| format!("sk{i}")).collect();
    let select_keys: String = keys
        .iter()
        .zip(&names)
        .map(|((e, _, _), name)| format!(", {e} AS {name}"))
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
    let rows = &rows[..rows.len().min(take)];
    let mut items = rows
        .iter()
        .map(map)
        .collect::<Result<Vec<T>, _>>()
        .store()?;
    // Only the first and last rows become cursors; the rows between need no keys.
    let cursor_of = |row: &AnyRow| -> Result<Cursor, StoreError> {
        let mut values = Vec::with_capacity(keys.len());
        for ((_, kind, _), col) in keys.iter().zip(&names) {
            let col = col.as_str();
            values.push(match kind {
                SortKind::Int => SortValue::Int(row.try_get(col).store()?),
                SortKind::Text => SortValue::Text(row.try_get(col).store()?),
            });
        }
        Ok(Cursor {
            sig: sig.clone(),
            keys: values,
            id: row.try_get("page_id").store()?,
        })
    };
    let (mut start, mut end) = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => (Some(cursor_of(a)?), Some(cursor_of(b)?)),
        _ => (None, None),
    };
    if backward {
        items.reverse();
        std::mem::swap(&mut start, &mut end);
    }
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
        items,
        has_next,
        has_prev,
        total,
        start,
        end,
    })
}

/// The keyset condition "after `c`" (`forward`) or "before `c`" in the given order, written
/// with row values so that the list's index can seek to the cursor instead of scanning up to it.
/// The order's columns (the sort keys, then `id` ascending) are grouped into runs of one
/// direction; for runs `R1, R2, …` the condition is
/// `R1 >= c1 AND (R1 > c1 OR (R1 = c1 AND (R2 > c2 OR …)))`, comparisons flipped for
/// descending runs and for "before". With one run (every key ascending, the default
/// `created_at` order) that is just `(created_at, id) > (?, ?)`.
fn beyond(keys: &[(&str, SortKind, bool)], c: &Cursor, forward: bool) -> (String, Vec<Arg>) {
    let columns: Vec<(&str, bool, Arg)> = keys
        .iter()
        .zip(&c.keys)
        .map(|((expr, _, desc), v)| (*expr, *desc, value_arg(v)))
        .chain(std::iter::once(("id", false, Arg::Text(c.id.clone()))))
        .collect();
    let runs: Vec<&[(&str, bool, Arg)]> = columns.chunk_by(|a, b| a.1 == b.1).collect();
    let mut text = String::new();
    let mut args = Vec::new();
    let tuple = |run: &[(&str, bool, Arg)], args: &mut Vec<Arg>| -> (String, String) {
        args.extend(run.iter().map(|(_, _, v)| v.clone()));
        let names: Vec<&str> = run.iter().map(|(e, _, _)| *e).collect();
        let marks = vec!["?"; run.len()].join(", ");
        (format!("({})", names.join(", ")), format!("({marks})"))
    };
    let op = |run: &[(&str, bool, Arg)]| if run[0].1 == forward { "<" } else { ">" };
    if runs.len() > 1 {
        // A bound on the leading run alone, which an index on the sort keys can seek to.
        let (cols, marks) = tuple(runs[0], &mut args);
        text.push_str(&format!("{cols} {}= {marks} AND ", op(runs[0])));
    }
    let last = runs.len() - 1;
    for (i, run) in runs.iter().enumerate() {
        let (cols, marks) = tuple(run, &mut args);
        if i < last {
            text.push_str(&format!("({cols} {} {marks} OR (", op(run)));
            let (cols, marks) = tuple(run, &mut args);
            text.push_str(&format!("{cols} = {marks} AND "));
        } else {
            text.push_str(&format!("{cols} {} {marks}", op(run)));
        }
    }
    text.push_str(&"))".repeat(last));
    (format!("({text})"), args)
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

/// Tables whose per-zone row count triggers keep in `zone_row_counts` (migration 0016).
pub const COUNTED_TABLES: &[&str] = &[
    "applications",
    "providers",
    "resources",
    "application_credentials",
    "users",
];

/// The migration that made [`SEARCH_INDEXES`] .
pub(crate) const SEARCH_INDEXES_SINCE: i64 = 16;

/// Full-text (trigram) indexes that narrow `query[]` on SQLite, by table (migration 0016).
pub(crate) const SEARCH_INDEXES: &[(&str, &str)] = &[
    ("applications", "applications_search"),
    ("resources", "resources_search"),
];

/// Number of rows matching `filter`: read from `zone_row_counts` when the filter is the zone
/// alone and triggers keep the table's count, counted otherwise.
pub(crate) async fn count(
    pool: &sqlx::AnyPool,
    table: &str,
    filter: &Filter,
) -> Result<u64, StoreError> {
    let row = match filter.zone_only() {
        Some(zone) if COUNTED_TABLES.contains(&table) => {
            sqlx::query("SELECT n FROM zone_row_counts WHERE zone_id = $1 AND tbl = $2")
                .bind(zone.to_owned())
                .bind(table.to_owned())
                .fetch_optional(pool)
                .await
                .store()?
        }
        _ => {
            let mut sql = Sql::new(format!("SELECT COUNT(*) AS n FROM {table}"));
            filter.write(&mut sql, None);
            Some(sql.query().fetch_one(pool).await.store()?)
        }
    };
    let n: i64 = match row {
        Some(row) => row.try_get("n").store()?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Picks the first of `base`, `base-2`, `base-3`, … not yet used in `column` of `table` within
/// `scope` (a `column = value` pair), inside the caller's transaction. Every probe is an
/// equality or `IN` lookup on the `(scope, column)` unique index, so the cost grows with the
/// number of rows sharing this base, not with the size of the table: the base alone first
/// (the usual case), then the suffixes in batches of [`SLUG_BATCH`].
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
    let (mut first, mut size) = (1, 1);
    loop {
        let candidates: Vec<String> = (first..first + size)
            .map(|n| latchkey_domain::text::slug_candidate(base, n))
            .collect();
        let mut sql = Sql::new(format!("SELECT {column} AS taken FROM {table}"));
        let mut filter = Filter::default().in_list(column, &candidates);
        if let Some((col, val)) = scope {
            filter = filter.eq(col, val);
        }
        filter.write(&mut sql, None);
        let taken: Vec<String> = sql
            .query()
            .fetch_all(&mut *tx)
            .await
            .store()?
            .iter()
            .map(|r| r.try_get::<String, _>("taken"))
            .collect::<Result<_, _>>()
            .store()?;
        if let Some(free) = candidates.into_iter().find(|c| !taken.contains(c)) {
            return Ok(free);
        }
        first += size;
        size = SLUG_BATCH;
    }
}

/// How many suffixed slug candidates one lookup probes once the base alone is taken.
const SLUG_BATCH: u32 = 32;

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

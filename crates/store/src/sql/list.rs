//! Listing and looking up rows: sortable fields per table, the cursor-paged list query every
//! resource shares, counts, unique slugs, and get/delete by `(zone, id)`.

use latchkey_domain::id::ZoneId;
use latchkey_domain::page::sort_signature;
use latchkey_domain::{Cursor, ListFilter, Page, PageRequest, SortValue, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Arg, Filter, Sql, touched};
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

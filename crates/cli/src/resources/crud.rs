//! `list / get / create / update / delete` for every kind of [`super::kinds`]: the shared flags,
//! body building, cursor paging (both list families and the bare-array secrets list) and output.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::kinds::{Kind, Scope};
use crate::body;
use crate::context::{Context, segment};
use crate::error::{CliError, CliResult};
use crate::output::{self, items_of};

/// The operations on one kind.
#[derive(Debug, Clone, Subcommand)]
pub enum Crud {
    /// List them (one page; `--all` follows the cursors to the end).
    List(ListArgs),
    /// Show one.
    Get { id: String },
    /// Create one from the flags, `--data` and `--set`.
    Create(Fields),
    /// Change one (a partial update: only what is given).
    Update {
        id: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete one (policies and policy sets are archived).
    Delete { id: String },
}

/// Paging and filtering of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Items per page (the server's default when absent).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Fetch every page.
    #[arg(long)]
    pub all: bool,
    /// An extra query parameter, e.g. `--param 'filter[slug]=x'` (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// Fields of create and update. Each kind takes some of the named flags (others are refused);
/// anything else goes through `--data` / `--set`.
#[derive(Debug, Clone, Default, Args)]
pub struct Fields {
    /// `name`.
    #[arg(long)]
    pub name: Option<String>,
    /// `description`.
    #[arg(long)]
    pub description: Option<String>,
    /// `identifier` (applications, resources, providers, credentials).
    #[arg(long)]
    pub identifier: Option<String>,
    /// `type` (credentials: public, token, password, url, …).
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// `application_id` (credentials, resources).
    #[arg(long)]
    pub application: Option<String>,
    /// `email` (invitations).
    #[arg(long)]
    pub email: Option<String>,
    /// `role` (invitations: org_admin|org_member|org_viewer; members: zone_manager|zone_viewer).
    #[arg(long)]
    pub role: Option<String>,
    /// `organization_user_id` (zone members).
    #[arg(long)]
    pub user: Option<String>,
    /// The body as JSON, `@FILE` or `@-` (stdin); the other flags are merged over it.
    #[arg(long)]
    pub data: Option<String>,
    /// Set `KEY=VALUE` in the body (dotted keys nest; JSON values are parsed). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl Fields {
    /// The request body for `kind`; a flag the kind does not take is a usage error.
    pub fn body(&self, kind: &Kind) -> CliResult<Value> {
        let named = [
            ("name", "name", &self.name),
            ("description", "description", &self.description),
            ("identifier", "identifier", &self.identifier),
            ("type", "type", &self.kind),
            ("application", "application_id", &self.application),
            ("email", "email", &self.email),
            ("role", "role", &self.role),
            ("user", "organization_user_id", &self.user),
        ];
        let mut pairs = Vec::new();
        for (flag, key, value) in named {
            if value.is_some() && !kind.flags.contains(&flag) {
                return Err(CliError::Usage(format!(
                    "--{flag} does not apply to a {}; use --set {key}=…",
                    kind.noun
                )));
            }
            pairs.push((key, value.clone().map(Value::String)));
        }
        body::build(self.data.as_deref(), pairs, &self.set)
    }
}

/// Runs one operation on `kind`.
pub async fn run(ctx: &Context, kind: &Kind, cmd: &Crud) -> CliResult<()> {
    let base = collection(ctx, kind).await?;
    let columns = kind.columns;
    match cmd {
        Crud::List(args) => {
            let mut query = params(&args.params)?;
            if let (Scope::Root, Some(org)) = (kind.scope, &ctx.org) {
                query.push(("filter[organization_id]".into(), org.clone()));
            }
            let value = list(ctx, &base, args, query).await?;
            output::print(ctx.format, &value, columns);
        }
        Crud::Get { id } => {
            refuse(kind.can_get, kind, "get")?;
            let value = ctx
                .call_json(Method::GET, &item(&base, id), &[], None)
                .await?;
            output::print(ctx.format, &value, columns);
        }
        Crud::Create(fields) => {
            let mut body = fields.body(kind)?;
            if let (Scope::Root, Some(org), Value::Object(m)) = (kind.scope, &ctx.org, &mut body) {
                m.entry("organization_id").or_insert_with(|| json!(org));
            }
            let value = ctx.call_json(Method::POST, &base, &[], Some(&body)).await?;
            output::print(ctx.format, &value, columns);
        }
        Crud::Update { id, fields } => {
            refuse(kind.can_update, kind, "update")?;
            let body = fields.body(kind)?;
            let path = item(&base, id);
            let value = ctx
                .call_json(Method::PATCH, &path, &[], Some(&body))
                .await?;
            output::print(ctx.format, &value, columns);
        }
        Crud::Delete { id } => {
            let answer = ctx
                .call(Method::DELETE, &item(&base, id), &[], None)
                .await?;
            match answer {
                Some(value) if ctx.format != output::Format::Table => {
                    output::print(ctx.format, &value, columns);
                }
                Some(_) => eprintln!("Archived {} {id}.", kind.noun),
                None => eprintln!("Deleted {} {id}.", kind.noun),
            }
        }
    }
    Ok(())
}

/// The collection path of `kind` for this invocation.
pub async fn collection(ctx: &Context, kind: &Kind) -> CliResult<String> {
    match kind.scope {
        Scope::Root => Ok(kind.collection("", "")),
        Scope::Org => Ok(kind.collection(&ctx.org_id().await?, "")),
        Scope::Zone => Ok(kind.collection("", ctx.zone_id()?)),
    }
}

/// `{collection}/{id}`.
pub fn item(base: &str, id: &str) -> String {
    format!("{base}/{}", segment(id))
}

fn refuse(allowed: bool, kind: &Kind, op: &str) -> CliResult<()> {
    if allowed {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "the API has no `{op}` for a {}",
            kind.noun
        )))
    }
}

/// `KEY=VALUE` pairs as query parameters.
pub fn params(raw: &[String]) -> CliResult<Vec<(String, String)>> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| CliError::Usage(format!("--param `{p}`: expected KEY=VALUE")))
        })
        .collect()
}

/// One page as the API gave it, or with `--all` every page's items as `{"items": [...]}`.
pub async fn list(
    ctx: &Context,
    path: &str,
    args: &ListArgs,
    mut query: Vec<(String, String)>,
) -> CliResult<Value> {
    if let Some(limit) = args.limit {
        query.push(("limit".into(), limit.to_string()));
    }
    let first = ctx.call_json(Method::GET, path, &query, None).await?;
    if !args.all {
        return Ok(first);
    }
    let mut items: Vec<Value> = items_of(&first).map(<[Value]>::to_vec).unwrap_or_default();
    let mut cursor = next_cursor(&first);
    while let Some(after) = cursor.take() {
        let mut q = query.clone();
        q.push(("after".into(), after.clone()));
        let page = ctx.call_json(Method::GET, path, &q, None).await?;
        items.extend(items_of(&page).map(<[Value]>::to_vec).unwrap_or_default());
        cursor = next_cursor(&page).filter(|next| *next != after);
    }
    Ok(json!({ "items": items }))
}

/// The cursor of the next page: `pagination.after_cursor` (zone lists) or `page_info.end_cursor`
/// when `has_next_page` (organization lists); None on the last page and for bare arrays.
pub fn next_cursor(page: &Value) -> Option<String> {
    let text = |p: &str| page.pointer(p).and_then(Value::as_str).map(str::to_owned);
    if page.get("pagination").is_some() {
        return text("/pagination/after_cursor");
    }
    if page.pointer("/page_info/has_next_page") == Some(&Value::Bool(true)) {
        return text("/page_info/end_cursor");
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::kinds;

    #[test]
    fn cursors_of_both_families() {
        let b = json!({"items": [], "pagination": {"after_cursor": "c2"}, "page_info": {"has_next_page": true, "end_cursor": "x"}});
        assert_eq!(next_cursor(&b).as_deref(), Some("c2"));
        let b_end = json!({"items": [], "pagination": {"after_cursor": null}});
        assert_eq!(next_cursor(&b_end), None);
        let a = json!({"items": [], "page_info": {"has_next_page": true, "end_cursor": "e"}});
        assert_eq!(next_cursor(&a).as_deref(), Some("e"));
        let a_end = json!({"items": [], "page_info": {"has_next_page": false, "end_cursor": "e"}});
        assert_eq!(next_cursor(&a_end), None);
        assert_eq!(next_cursor(&json!([1, 2])), None);
    }

    #[test]
    fn flags_become_body_fields_and_foreign_flags_are_refused() {
        let f = Fields {
            name: Some("n".into()),
            set: vec!["consent=implicit".into()],
            ..Fields::default()
        };
        assert_eq!(
            f.body(&kinds::APPLICATIONS).unwrap(),
            json!({"name": "n", "consent": "implicit"})
        );
        let f = Fields {
            user: Some("u1".into()),
            role: Some("zone_viewer".into()),
            ..Fields::default()
        };
        assert_eq!(
            f.body(&kinds::MEMBERS).unwrap(),
            json!({"organization_user_id": "u1", "role": "zone_viewer"})
        );
        let f = Fields {
            email: Some("a@b.c".into()),
            ..Fields::default()
        };
        assert_eq!(f.body(&kinds::ZONES).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn paths_encode_ids() {
        assert_eq!(
            item("/zones/z/applications", "a b"),
            "/zones/z/applications/a%20b"
        );
        assert_eq!(
            kinds::INVITATIONS.collection("o1", ""),
            "/organizations/o1/invitations"
        );
        assert_eq!(kinds::SECRETS.collection("", "z1"), "/zones/z1/secrets");
    }
}

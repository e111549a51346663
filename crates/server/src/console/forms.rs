//! Submitted forms: the pairs of an `application/x-www-form-urlencoded` body, the CSRF check, and
//! turning the fields of a [`Field`] list into the JSON body of an API call (dotted names nest,
//! empty optional fields clear on update and are left out on create, write-only fields are left
//! out when empty).

use axum::Form;
use axum::response::Response;
use serde_json::{Map, Value};

use super::kinds::{Field, Input};
use super::layout;
use super::session::Ctx;

/// A form refused for its missing or wrong CSRF token (answered with the "form expired" page).
pub struct CsrfRefused;

impl axum::response::IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        layout::csrf_refused()
    }
}

/// A submitted form, its CSRF token already checked.
pub struct Submitted(Vec<(String, String)>);

impl Submitted {
    /// Checks the CSRF token of `form` against the session's.
    pub fn check(ctx: &Ctx, Form(pairs): Form<Vec<(String, String)>>) -> Result<Self, CsrfRefused> {
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        match sent {
            Some(t) if layout::csrf_ok(ctx, t) => Ok(Self(pairs)),
            _ => Err(CsrfRefused),
        }
    }

    /// The first value of `name`, trimmed, when not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` as sent (not trimmed), when present.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// Why a form could not become a request body: the field and what is wrong.
pub struct Invalid {
    pub message: String,
}

/// The JSON body for `fields` (`update`: a PATCH, where empty optional fields clear).
pub fn body(fields: &[Field], form: &Submitted, update: bool) -> Result<Value, Invalid> {
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = value(f, form, update)? {
            insert(&mut out, f.name, v);
        }
    }
    Ok(Value::Object(out))
}

fn value(f: &Field, form: &Submitted, update: bool) -> Result<Option<Value>, Invalid> {
    let text = form.get(f.name);
    let v = match (&f.input, text) {
        (Input::Check, _) => Some(Value::Bool(form.has(f.name))),
        (Input::Secret, None) => None,
        (Input::Lines, t) => Some(Value::Array(
            t.unwrap_or("")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Value::String(l.to_owned()))
                .collect(),
        ))
        .filter(|a| update || a.as_array().is_some_and(|a| !a.is_empty())),
        (Input::Number, Some(t)) => Some(Value::from(t.parse::<i64>().map_err(|_| Invalid {
            message: format!("`{}` must be a whole number", f.name),
        })?)),
        (_, Some(t)) => Some(Value::String(t.to_owned())),
        (_, None) if f.required => {
            return Err(Invalid {
                message: format!("`{}` is required", f.name),
            });
        }
        (_, None) => update.then_some(Value::Null),
    };
    Ok(v)
}

/// Sets `a.b.c` in `obj`, creating the nested objects.
fn insert(obj: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_owned(), v);
        }
        Some((head, rest)) => {
            let inner = obj
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = inner {
                insert(m, rest, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::kinds::Input;

    const FIELDS: &[Field] = &[
        Field::new("name", "Name", Input::Text).required(),
        Field::new("description", "Description", Input::Long),
        Field::new(
            "protocols.oauth2.redirect_uris",
            "Redirect URIs",
            Input::Lines,
        ),
        Field::new("prefix", "Prefix", Input::Check),
        Field::new("credential_lifetime_seconds", "Lifetime", Input::Number),
    ];

    fn form(pairs: &[(&str, &str)]) -> Submitted {
        Submitted(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn create_bodies_nest_and_leave_out_empty_fields() {
        let f = form(&[
            ("name", " App "),
            ("description", ""),
            (
                "protocols.oauth2.redirect_uris",
                "https://a/cb\n\nhttps://b/cb",
            ),
        ]);
        let b = body(FIELDS, &f, false).ok().unwrap_or_default();
        assert_eq!(
            b,
            serde_json::json!({"name": "App", "protocols": {"oauth2": {"redirect_uris": ["https://a/cb", "https://b/cb"]}}, "prefix": false})
        );
    }

    #[test]
    fn updates_clear_empty_optional_fields_and_check_types() {
        let f = form(&[("name", "A"), ("credential_lifetime_seconds", "")]);
        let b = body(FIELDS, &f, true).ok().unwrap_or_default();
        assert_eq!(b["description"], Value::Null);
        assert_eq!(b["credential_lifetime_seconds"], Value::Null);
        let bad = form(&[("name", "A"), ("credential_lifetime_seconds", "ten")]);
        assert!(
            body(FIELDS, &bad, false)
                .is_err_and(|e| e.message.contains("credential_lifetime_seconds"))
        );
        assert!(
            body(FIELDS, &form(&[]), false)
                .is_err_and(|e| e.message.contains("`name` is required"))
        );
    }
}

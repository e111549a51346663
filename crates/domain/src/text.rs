//! Validated text values shared by every resource: names, descriptions, slugs and labels
//! (spec/management-api.md §2.5, rule B16: no HTML tags, no control characters).

use crate::error::ValidationError;

pub const NAME_MAX: usize = 255;
pub const DESCRIPTION_MAX: usize = 2048;
pub const IDENTIFIER_MAX: usize = 2048;
pub const SLUG_MAX: usize = 63;

/// Checks a free-text field: length in characters and the no-HTML/no-control rule.
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let len = value.chars().count();
    if len < min {
        return Err(if min == 1 {
            ValidationError::new(field, "must not be empty")
        } else {
            ValidationError::new(field, format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    if contains_html_tag(value) {
        return Err(ValidationError::new(field, "must not contain HTML tags"));
    }
    Ok(())
}

/// A required display name: 1–255 characters, trimmed of nothing, no HTML or control characters.
pub fn name(field: &str, value: String) -> Result<String, ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    check_text(field, &value, 1, NAME_MAX)?;
    Ok(value)
}

/// An optional description: at most `max` characters, no HTML or control characters.
pub fn description(field: &str, value: String, max: usize) -> Result<String, ValidationError> {
    check_text(field, &value, 0, max)?;
    Ok(value)
}

/// `<` followed by a letter, `/` or `!` reads as the start of a tag; `a < b` does not.
fn contains_html_tag(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// Whether `s` is a valid slug: `^[a-z0-9]+(?:-[a-z0-9]+)*$`, 1–63 characters.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= SLUG_MAX
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Derives a slug from free text: ASCII letters and digits lowercased, every other run of
/// characters one hyphen, cut to leave room for a uniqueness suffix. Falls back to `fallback`.
pub fn slugify(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    let mut pending_hyphen = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_hyphen = true;
        }
        if out.len() >= SLUG_MAX - 8 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out
    }
}

/// The `n`-th candidate for a unique slug: `base`, then `base-2`, `base-3`, …
pub fn slug_candidate(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_owned()
    } else {
        format!("{base}-{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("My Zone!", "zone"), "my-zone");
        assert_eq!(slugify("  --Ünïcode ok-- ", "zone"), "n-code-ok");
        assert_eq!(slugify("!!!", "zone"), "zone");
        assert!(is_slug(&slugify(&"a".repeat(300), "x")));
        assert!(is_slug("a-b-1"));
        assert!(!is_slug("a--b") && !is_slug("-a") && !is_slug("A") && !is_slug(""));
        assert_eq!(slug_candidate("x", 1), "x");
        assert_eq!(slug_candidate("x", 3), "x-3");
    }

    #[test]
    fn text_rules() {
        assert!(name("name", "ok name".into()).is_ok());
        assert!(name("name", "".into()).is_err());
        assert!(name("name", "   ".into()).is_err());
        assert!(name("name", "a".repeat(256)).is_err());
        assert!(name("name", "é".repeat(255)).is_ok());
        assert!(name("name", "<script>x".into()).is_err());
        assert!(name("name", "a</b".into()).is_err());
        assert!(name("name", "a < b".into()).is_ok());
        assert!(name("name", "bell\u{7}".into()).is_err());
        let e = description("description", "x\ny".into(), 10).unwrap_err();
        assert_eq!(e.field, "description");
    }
}

use super::*;
use crate::schema;

fn v2026_03_16() -> std::sync::Arc<SchemaVersion> {
    schema::get("2026-03-16").expect("built-in schema")
}

fn raw(text: &str) -> Result<ValidatedPolicy, PolicyError> {
    validate_policy(PolicySource::CedarRaw(text), &v2026_03_16())
}

fn error_at(text: &str) -> (u32, u32, String) {
    let e = raw(text).expect_err("invalid policy");
    assert_eq!(e.code, "invalid_cedar");
    (e.line, e.column, e.message)
}

#[test]
fn a_valid_policy_is_normalised_hashed_and_rendered_as_json() {
    let text = "@id(\"app-direct\")\npermit (principal is Keycard::Application, action, resource)\n  when {   !context.on_behalf && !context.impersonate };";
    let ok = raw(text).expect("valid");
    assert_eq!(ok.statements, 1);
    assert!(ok.cedar_raw.ends_with(";\n"), "{:?}", ok.cedar_raw);
    assert!(!ok.cedar_raw.contains("{   !"), "{:?}", ok.cedar_raw);
    assert_eq!(ok.sha, sha256_hex(ok.cedar_raw.as_bytes()));
    assert_eq!(ok.sha.len(), 64);
    assert_eq!(ok.cedar_json["effect"], "permit");
    assert_eq!(ok.cedar_json["annotations"]["id"], "app-direct");
    // Normalising is idempotent, so the stored text validates to itself.
    assert_eq!(raw(&ok.cedar_raw).expect("stored text"), ok);
}

#[test]
fn layout_does_not_change_the_sha() {
    let a = raw("permit(principal, action, resource) when { context.on_behalf };").expect("a");
    let b =
        raw("permit(\n    principal,\n action,\n\n resource\n)\nwhen\n{ context.on_behalf\n} ;")
            .expect("b");
    assert_eq!(a.sha, b.sha);
}

#[test]
fn json_input_gives_the_same_stored_policy_as_its_text() {
    let text = raw("permit(principal is Keycard::User, action, resource) when { context.scopes.contains(\"read\") };")
        .expect("text");
    let json =
        validate_policy(PolicySource::CedarJson(&text.cedar_json), &v2026_03_16()).expect("json");
    assert_eq!(json.cedar_json, text.cedar_json);
    assert_eq!(json.cedar_raw, text.cedar_raw);
    assert_eq!(json.sha, text.sha);
}

#[test]
fn several_statements_make_one_version() {
    let ok = raw("permit(principal is Keycard::User, action, resource);\n\nforbid(principal, action, resource) when { context.impersonate };")
        .expect("valid");
    assert_eq!(ok.statements, 2);
    assert!(ok.cedar_json["staticPolicies"].is_object());
    let again = validate_policy(PolicySource::CedarJson(&ok.cedar_json), &v2026_03_16())
        .expect("policy-set json");
    assert_eq!(again.statements, 2);
    assert_eq!(again.sha, ok.sha);
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let (line, column, message) =
        error_at("permit(principal, action, resource)\nwhen { context.on_behalf == };");
    assert_eq!((line, column), (2, 29), "{message}");
}

#[test]
fn a_missing_semicolon_points_past_the_statement() {
    let (line, column, message) = error_at("permit(principal, action, resource)\n");
    assert_eq!((line, column), (1, 36), "{message}");
}

#[test]
fn a_type_error_names_its_line_and_column() {
    // `principal` may be an Application, which has no `email`.
    let (line, column, message) =
        error_at("permit(principal, action, resource)\nwhen {\n  principal.email like \"*@x\"\n};");
    assert_eq!((line, column), (3, 3), "{message}");
    assert!(message.contains("email"), "{message}");
}

#[test]
fn an_unknown_entity_type_or_attribute_is_rejected_where_it_is() {
    let (line, column, message) =
        error_at("permit(\n  principal == Keycard::Group::\"admins\",\n  action,\n  resource\n);");
    assert_eq!((line, column), (2, 16), "{message}");
    let (line, column, message) =
        error_at("permit(principal, action, resource) when { context.grant_type == \"x\" };");
    assert_eq!((line, column), (1, 44), "{message}");
}

#[test]
fn an_unknown_action_is_rejected() {
    let (line, column, message) =
        error_at("permit(principal, action == Keycard::Action::\"WriteTools\", resource);");
    assert_eq!(line, 1, "{message}");
    assert!(column > 1, "{message}");
    // 2026-06-18 has the tool actions.
    let newer = schema::get("2026-06-18").expect("schema");
    validate_policy(
        PolicySource::CedarRaw(
            "permit(principal is Keycard::User, action in [Keycard::Action::\"WriteTools\", Keycard::Action::\"ControlTools\"], resource) when { principal.email like \"*@example.com\" };",
        ),
        &newer,
    )
    .expect("valid on 2026-06-18");
}

#[test]
fn templates_and_empty_policies_are_rejected() {
    let (line, column, _) = error_at("permit(\n  principal == ?principal, action, resource);");
    assert_eq!((line, column), (2, 16));
    let (line, column, _) = error_at("// nothing here\n");
    assert_eq!((line, column), (1, 1));
}

#[test]
fn malformed_json_is_invalid_cedar() {
    let bad = serde_json::json!({"effect": "allow"});
    let e = validate_policy(PolicySource::CedarJson(&bad), &v2026_03_16()).expect_err("bad");
    assert_eq!((e.code, e.line, e.column), ("invalid_cedar", 1, 1));
}

#[test]
fn line_column_counts_characters() {
    assert_eq!(line_column("ab\ncd", 0), (1, 1));
    assert_eq!(line_column("ab\ncd", 3), (2, 1));
    assert_eq!(line_column("ab\ncd", 4), (2, 2));
    assert_eq!(line_column("é€x", "é€".len()), (1, 3));
    assert_eq!(line_column("ab", 99), (1, 3));
}

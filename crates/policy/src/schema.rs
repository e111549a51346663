//! Cedar schema versions as data: the built-in `Keycard` schemas (`schemas/*.cedarschema`), their
//! status, their two served forms (Cedar text and Cedar JSON) and the parsed `cedar_policy::Schema`
//! that validation and compilation use. A version stored elsewhere (a later migration) is loaded
//! with [`SchemaVersion::parse`]; the built-ins are parsed once, on first use.

use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use cedar_policy::{Schema, SchemaFragment};
use serde::{Deserialize, Serialize};

/// Where a schema version is in its life (`SchemaVersion.status` of the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaStatus {
    /// Current: new policy versions are validated against it.
    Active,
    /// Superseded, still accepts new policy versions.
    Deprecated,
    /// No new policy versions; set versions pinned to it still evaluate.
    Archived,
}

impl SchemaStatus {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deprecated => "deprecated",
            Self::Archived => "archived",
        }
    }
}

/// Which served form of a schema (`?format=cedar|json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaFormat {
    /// Cedar schema text (`cedar_schema`).
    Cedar,
    /// Cedar JSON schema (`cedar_schema_json`).
    Json,
}

impl FromStr for SchemaFormat {
    type Err = SchemaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cedar" => Ok(Self::Cedar),
            "json" => Ok(Self::Json),
            other => Err(SchemaError::Format(other.to_owned())),
        }
    }
}

/// A schema that cannot be loaded or a format that does not exist.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The Cedar schema text does not parse or is inconsistent.
    #[error("schema `{version}` is invalid: {message}")]
    Invalid { version: String, message: String },
    /// Neither `cedar` nor `json`.
    #[error("unknown schema format `{0}`")]
    Format(String),
}

/// One schema version: its name, status, both served forms and the parsed schema.
#[derive(Debug)]
pub struct SchemaVersion {
    version: String,
    status: SchemaStatus,
    cedar_text: String,
    json: serde_json::Value,
    schema: Schema,
}

impl SchemaVersion {
    /// Parses a schema version from its Cedar text (the stored form) and derives the JSON form.
    pub fn parse(
        version: &str,
        status: SchemaStatus,
        cedar_text: &str,
    ) -> Result<Self, SchemaError> {
        let invalid = |message: String| SchemaError::Invalid {
            version: version.to_owned(),
            message,
        };
        let (fragment, _warnings) =
            SchemaFragment::from_cedarschema_str(cedar_text).map_err(|e| invalid(e.to_string()))?;
        let json = fragment
            .to_json_value()
            .map_err(|e| invalid(e.to_string()))?;
        let (schema, _warnings) =
            Schema::from_cedarschema_str(cedar_text).map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            version: version.to_owned(),
            status,
            cedar_text: cedar_text.to_owned(),
            json,
            schema,
        })
    }

    /// The version name, e.g. `2026-03-16`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Active, deprecated or archived.
    pub fn status(&self) -> SchemaStatus {
        self.status
    }

    /// The Cedar schema text, as stored and served (`cedar_schema`).
    pub fn cedar_text(&self) -> &str {
        &self.cedar_text
    }

    /// The Cedar JSON schema (`cedar_schema_json`).
    pub fn json(&self) -> &serde_json::Value {
        &self.json
    }

    /// The served form for `?format=`: a JSON string for `cedar`, the JSON schema for `json`.
    pub fn formatted(&self, format: SchemaFormat) -> serde_json::Value {
        match format {
            SchemaFormat::Cedar => serde_json::Value::String(self.cedar_text.clone()),
            SchemaFormat::Json => self.json.clone(),
        }
    }

    /// The parsed schema for validation and evaluation.
    pub fn cedar(&self) -> &Schema {
        &self.schema
    }
}

/// The built-in versions, oldest first: name, status, Cedar text.
const BUILT_IN: [(&str, SchemaStatus, &str); 2] = [
    (
        "2026-03-16",
        SchemaStatus::Deprecated,
        include_str!("../schemas/2026-03-16.cedarschema"),
    ),
    (
        "2026-06-18",
        SchemaStatus::Active,
        include_str!("../schemas/2026-06-18.cedarschema"),
    ),
];

/// Parsed once. A built-in that fails to parse is left out (and fails the crate's tests).
static VERSIONS: LazyLock<Vec<Arc<SchemaVersion>>> = LazyLock::new(|| {
    BUILT_IN
        .iter()
        .filter_map(|(v, status, text)| SchemaVersion::parse(v, *status, text).ok())
        .map(Arc::new)
        .collect()
});

/// Every built-in schema version, oldest first.
pub fn versions() -> &'static [Arc<SchemaVersion>] {
    &VERSIONS
}

/// The built-in schema version named `version`.
pub fn get(version: &str) -> Option<Arc<SchemaVersion>> {
    VERSIONS.iter().find(|s| s.version == version).cloned()
}

/// The newest built-in version: the zone default until a zone picks another.
pub fn latest() -> Option<Arc<SchemaVersion>> {
    VERSIONS.last().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_version_parses() {
        assert_eq!(versions().len(), BUILT_IN.len());
        assert_eq!(
            versions().iter().map(|s| s.version()).collect::<Vec<_>>(),
            ["2026-03-16", "2026-06-18"]
        );
        assert_eq!(
            latest().map(|s| s.version().to_owned()).as_deref(),
            Some("2026-06-18")
        );
        assert_eq!(
            get("2026-03-16").map(|s| s.status()),
            Some(SchemaStatus::Deprecated)
        );
        assert!(get("2026-02-24").is_none());
    }

    #[test]
    fn json_form_round_trips() {
        for v in versions() {
            let json = v.formatted(SchemaFormat::Json);
            let from_json = Schema::from_json_value(json.clone()).expect("json schema parses");
            let back = SchemaFragment::from_json_value(json.clone())
                .expect("fragment")
                .to_json_value()
                .expect("json again");
            assert_eq!(back, json, "{}", v.version());
            let types = |s: &Schema| {
                let mut t: Vec<String> = s.entity_types().map(|t| t.to_string()).collect();
                t.sort();
                t
            };
            assert_eq!(types(&from_json), types(v.cedar()));
            let actions = |s: &Schema| s.actions().count();
            assert_eq!(actions(&from_json), actions(v.cedar()));
            // The Cedar text of the JSON form parses back as well.
            let text = SchemaFragment::from_json_value(json)
                .expect("fragment")
                .to_cedarschema();
            let _ = Schema::from_cedarschema_str(&text.expect("to text")).expect("text parses");
        }
    }

    #[test]
    fn schemas_name_the_evidenced_types_and_actions() {
        let old = get("2026-03-16").expect("2026-03-16");
        let mut types: Vec<String> = old.cedar().entity_types().map(|t| t.to_string()).collect();
        types.sort();
        assert_eq!(
            types,
            [
                "Keycard::Application",
                "Keycard::CredentialType",
                "Keycard::RegistrationMethod",
                "Keycard::Resource",
                "Keycard::User"
            ]
        );
        let actions = |s: &SchemaVersion| {
            let mut a: Vec<String> = s.cedar().actions().map(|a| a.to_string()).collect();
            a.sort();
            a
        };
        assert_eq!(actions(&old), [r#"Keycard::Action::"Access""#]);
        let new = get("2026-06-18").expect("2026-06-18");
        assert_eq!(actions(&new).len(), 4);
        assert!(actions(&new).contains(&r#"Keycard::Action::"WriteTools""#.to_owned()));
    }

    #[test]
    fn formats_parse() {
        assert_eq!(
            "cedar".parse::<SchemaFormat>().ok(),
            Some(SchemaFormat::Cedar)
        );
        assert_eq!(
            "json".parse::<SchemaFormat>().ok(),
            Some(SchemaFormat::Json)
        );
        assert!("yaml".parse::<SchemaFormat>().is_err());
        assert_eq!(SchemaStatus::Deprecated.as_str(), "deprecated");
    }
}

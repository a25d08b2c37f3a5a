//! What the browser and the server share about identities: the types that cross the wire and
//! the validation both sides run (the browser before sending, the server before calling Letta).
//!
//! Letta does not validate property values against their declared type (a `number` property
//! with the value `"abc"` is stored as is, see the contract tests), so this is the only check.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AppError;

/// Letta's `identity_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    Org,
    User,
    Other,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 3] = [IdentityKind::User, IdentityKind::Org, IdentityKind::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Org => "org",
            IdentityKind::User => "user",
            IdentityKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<IdentityKind> {
        match s.trim() {
            "org" => Some(IdentityKind::Org),
            "user" => Some(IdentityKind::User),
            "other" => Some(IdentityKind::Other),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IdentityKind::Org => "Organization",
            IdentityKind::User => "User",
            IdentityKind::Other => "Other",
        }
    }
}

/// Letta's property `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PropKind {
    #[default]
    String,
    Number,
    Boolean,
    Json,
}

impl PropKind {
    pub const ALL: [PropKind; 4] = [
        PropKind::String,
        PropKind::Number,
        PropKind::Boolean,
        PropKind::Json,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PropKind::String => "string",
            PropKind::Number => "number",
            PropKind::Boolean => "boolean",
            PropKind::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<PropKind> {
        PropKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            PropKind::String => "Text",
            PropKind::Number => "Number",
            PropKind::Boolean => "Yes / no",
            PropKind::Json => "JSON",
        }
    }
}

/// A property as a form holds it: the value is always text, parsed by [`parse_value`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PropertyInput {
    pub key: String,
    pub kind: PropKind,
    pub value: String,
}

/// The create / upsert form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IdentityInput {
    pub identifier_key: String,
    pub name: String,
    /// Text, so that a missing or unknown type is a message beside the field, not a decoding
    /// error.
    pub identity_type: String,
    /// `default`: an empty list is not sent at all by the form encoding.
    #[serde(default)]
    pub properties: Vec<PropertyInput>,
}

/// The edit form for the scalar fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IdentityDetailsInput {
    pub identifier_key: String,
    pub name: String,
    pub identity_type: String,
}

/// The properties editor's save: the full new list (it REPLACES the old one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PropertiesInput {
    pub id: String,
    #[serde(default)]
    pub properties: Vec<PropertyInput>,
}

pub const MAX_KEY_CHARS: usize = 200;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_PROPERTY_KEY_CHARS: usize = 100;
pub const MAX_PROPERTIES: usize = 100;
pub const MAX_VALUE_CHARS: usize = 20_000;

/// The field name of a property's key or value in validation errors.
pub fn prop_field(index: usize, part: &str) -> String {
    format!("properties.{index}.{part}")
}

/// The message for a duplicate identifier key (never the server's text).
pub fn duplicate_key_message(key: &str) -> String {
    format!("An identity with key {key} already exists.")
}

/// Parses a property's text as its type wants it.
pub fn parse_value(kind: PropKind, raw: &str) -> Result<Value, String> {
    if raw.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "A value can have at most {MAX_VALUE_CHARS} characters."
        ));
    }
    match kind {
        PropKind::String => Ok(Value::String(raw.to_string())),
        PropKind::Number => {
            let s = raw.trim();
            if s.is_empty() {
                return Err("Enter a number, like 42 or 3.5.".into());
            }
            // Whole numbers stay whole (41, not 41.0).
            if let Ok(n) = s.parse::<i64>() {
                return Ok(Value::from(n));
            }
            match s.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::from(f)),
                _ => Err(format!(
                    "“{s}” is not a number (use digits and a dot, like 3.5)."
                )),
            }
        }
        PropKind::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("Choose true or false.".into()),
        },
        PropKind::Json => {
            if raw.trim().is_empty() {
                return Err("Enter JSON, like {\"lang\": \"fr\"} or [1, 2].".into());
            }
            serde_json::from_str::<Value>(raw).map_err(|e| format!("This is not valid JSON: {e}."))
        }
    }
}

/// The text a form shows for a stored value (the inverse of [`parse_value`]). A value that does
/// not match its type (another client may have stored one) is shown as is, so that saving it
/// asks for a fix instead of silently changing it.
pub fn value_text(kind: PropKind, value: &Value) -> String {
    match (kind, value) {
        (PropKind::Json, v) => v.to_string(),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Null) => String::new(),
        (_, v) => v.to_string(),
    }
}

fn check_text(field: &str, what: &str, raw: &str, max: usize) -> Result<String, (String, String)> {
    let s = raw.trim();
    if s.is_empty() {
        return Err((field.into(), format!("Enter {what}.")));
    }
    if s.chars().count() > max {
        return Err((field.into(), format!("At most {max} characters.")));
    }
    if s.chars().any(char::is_control) {
        return Err((
            field.into(),
            "Line breaks and control characters are not allowed.".into(),
        ));
    }
    Ok(s.to_string())
}

/// Every problem with the scalar fields, as (field, message).
pub fn details_problems(key: &str, name: &str, kind: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    if let Err(e) = check_text("identifier_key", "an identifier key", key, MAX_KEY_CHARS) {
        out.push(e);
    }
    if let Err(e) = check_text("name", "a name", name, MAX_NAME_CHARS) {
        out.push(e);
    }
    if IdentityKind::parse(kind).is_none() {
        out.push((
            "identity_type".into(),
            "Choose organization, user or other.".into(),
        ));
    }
    out
}

/// Every problem with a property list, as (field, message): keys non-empty and unique, each
/// value parses as its type.
pub fn property_problems(props: &[PropertyInput]) -> Vec<(String, String)> {
    let mut out = vec![];
    if props.len() > MAX_PROPERTIES {
        out.push((
            "properties".into(),
            format!("At most {MAX_PROPERTIES} properties."),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, p) in props.iter().enumerate() {
        let key = p.key.trim();
        if key.is_empty() {
            out.push((prop_field(i, "key"), "Enter a key.".into()));
        } else if key.chars().count() > MAX_PROPERTY_KEY_CHARS {
            out.push((
                prop_field(i, "key"),
                format!("At most {MAX_PROPERTY_KEY_CHARS} characters."),
            ));
        } else if !seen.insert(key.to_string()) {
            out.push((
                prop_field(i, "key"),
                format!("The key “{key}” is used twice."),
            ));
        }
        if let Err(m) = parse_value(p.kind, &p.value) {
            out.push((prop_field(i, "value"), m));
        }
    }
    out
}

/// A property list checked and converted: (key, kind, value), in form order.
pub fn parse_properties(
    props: &[PropertyInput],
) -> Result<Vec<(String, PropKind, Value)>, AppError> {
    first_problem(property_problems(props))?;
    props
        .iter()
        .enumerate()
        .map(|(i, p)| {
            parse_value(p.kind, &p.value)
                .map(|v| (p.key.trim().to_string(), p.kind, v))
                .map_err(|m| AppError::invalid(&prop_field(i, "value"), m))
        })
        .collect()
}

/// Checked scalar fields: (identifier_key, name, kind).
pub fn parse_details(
    key: &str,
    name: &str,
    kind: &str,
) -> Result<(String, String, IdentityKind), AppError> {
    first_problem(details_problems(key, name, kind))?;
    Ok((
        key.trim().to_string(),
        name.trim().to_string(),
        IdentityKind::parse(kind).unwrap_or(IdentityKind::Other),
    ))
}

fn first_problem(problems: Vec<(String, String)>) -> Result<(), AppError> {
    match problems.into_iter().next() {
        Some((field, message)) => Err(AppError::invalid(&field, message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(key: &str, kind: PropKind, value: &str) -> PropertyInput {
        PropertyInput {
            key: key.into(),
            kind,
            value: value.into(),
        }
    }

    #[test]
    fn values_parse_as_their_type() {
        assert_eq!(parse_value(PropKind::Number, " 41 "), Ok(json!(41)));
        assert_eq!(parse_value(PropKind::Number, "3.5"), Ok(json!(3.5)));
        assert_eq!(parse_value(PropKind::Number, "-1e3"), Ok(json!(-1000.0)));
        for bad in ["", "abc", "NaN", "inf", "1,5", "0x10"] {
            assert!(parse_value(PropKind::Number, bad).is_err(), "{bad}");
        }
        assert_eq!(parse_value(PropKind::Boolean, "TRUE"), Ok(json!(true)));
        assert_eq!(parse_value(PropKind::Boolean, "false"), Ok(json!(false)));
        assert!(parse_value(PropKind::Boolean, "yes").is_err());
        assert_eq!(
            parse_value(PropKind::Json, r#"{"lang":"fr"}"#),
            Ok(json!({"lang": "fr"}))
        );
        assert!(parse_value(PropKind::Json, "{lang: fr}")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(parse_value(PropKind::Json, " ").is_err());
        assert_eq!(parse_value(PropKind::String, " x "), Ok(json!(" x ")));
        assert_eq!(parse_value(PropKind::String, ""), Ok(json!("")));
    }

    #[test]
    fn value_text_round_trips() {
        for (kind, text) in [
            (PropKind::Number, "41"),
            (PropKind::Number, "3.5"),
            (PropKind::Boolean, "true"),
            (PropKind::Json, r#"{"a":[1,2]}"#),
            (PropKind::String, "hello"),
        ] {
            let v = parse_value(kind, text).unwrap();
            assert_eq!(value_text(kind, &v), text);
        }
        // An ill-typed stored value is shown as stored.
        assert_eq!(value_text(PropKind::Number, &json!("abc")), "abc");
    }

    #[test]
    fn property_lists_need_unique_non_empty_keys_and_valid_values() {
        let problems = property_problems(&[
            p("age", PropKind::Number, "x"),
            p(" ", PropKind::String, "v"),
            p("age", PropKind::String, "v"),
            p("ok", PropKind::Json, "[1]"),
        ]);
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["properties.0.value", "properties.1.key", "properties.2.key"]
        );
        assert!(problems[2].1.contains("used twice"));
        let ok = parse_properties(&[p(" lang ", PropKind::String, "fr")]).unwrap();
        assert_eq!(ok, vec![("lang".into(), PropKind::String, json!("fr"))]);
        let err = parse_properties(&[p("n", PropKind::Number, "abc")]).unwrap_err();
        assert!(err.for_field("properties.0.value").is_some());
    }

    #[test]
    fn details_are_trimmed_and_required() {
        assert_eq!(
            parse_details(" ada ", " Ada L ", "user").unwrap(),
            ("ada".into(), "Ada L".into(), IdentityKind::User)
        );
        let fields: Vec<String> = details_problems("", "", "robot")
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["identifier_key", "name", "identity_type"]);
        assert!(parse_details("a\nb", "n", "org")
            .unwrap_err()
            .for_field("identifier_key")
            .is_some());
        assert!(parse_details(&"k".repeat(201), "n", "org").is_err());
    }
}

//! The persona document kept in a `Persona_` block, when it is still that document: the agent
//! may rewrite the block as prose at any time, and then the editor works on raw text.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonaDoc {
    pub name: String,
    /// Key/value rows, in the document's order.
    pub preferences: Vec<(String, String)>,
    pub conversation_history: Vec<String>,
}

/// Parses `value` as the persona document, or says why it is not one.
pub fn parse(value: &str) -> Result<PersonaDoc, String> {
    let v: Value = serde_json::from_str(value).map_err(|_| {
        "The block is not JSON (the agent may have rewritten it as text).".to_string()
    })?;
    let obj = v.as_object().ok_or("The block's JSON is not an object.")?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or("The document has no \"name\" text.")?;
    let prefs = obj
        .get("preferences")
        .and_then(Value::as_object)
        .ok_or("The document has no \"preferences\" object.")?;
    let history = obj
        .get("conversation_history")
        .and_then(Value::as_array)
        .ok_or("The document has no \"conversation_history\" list.")?;
    let known = ["name", "preferences", "conversation_history"];
    if let Some(extra) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "The document has a field the form does not edit: \"{extra}\"."
        ));
    }
    // Only text values: anything else would change type on a round trip through the form.
    let structured =
        "The document holds structured values the form cannot edit without changing them.";
    let preferences = prefs
        .iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_string()))
                .ok_or(structured)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let conversation_history = history
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or(structured))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PersonaDoc {
        name: name.to_string(),
        preferences,
        conversation_history,
    })
}

/// The document as the JSON text stored in the block.
pub fn render(doc: &PersonaDoc) -> String {
    let mut prefs = Map::new();
    for (k, v) in &doc.preferences {
        prefs.insert(k.clone(), Value::String(v.clone()));
    }
    let mut obj = Map::new();
    obj.insert("name".into(), Value::String(doc.name.clone()));
    obj.insert("preferences".into(), Value::Object(prefs));
    obj.insert(
        "conversation_history".into(),
        Value::Array(
            doc.conversation_history
                .iter()
                .cloned()
                .map(Value::String)
                .collect(),
        ),
    );
    serde_json::to_string_pretty(&Value::Object(obj)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_document_round_trips() {
        let initial = r#"{"name":"Ada","preferences":{},"conversation_history":[]}"#;
        let doc = parse(initial).unwrap();
        assert_eq!(doc.name, "Ada");
        assert_eq!(parse(&render(&doc)).unwrap(), doc);
    }

    #[test]
    fn prose_and_foreign_shapes_open_in_raw_mode_with_a_reason() {
        assert!(parse("Ada likes tea.").unwrap_err().contains("not JSON"));
        assert!(parse("[1]").unwrap_err().contains("not an object"));
        assert!(
            parse(r#"{"name":"A","preferences":{},"conversation_history":[],"x":1}"#)
                .unwrap_err()
                .contains("\"x\"")
        );
        assert!(
            parse(r#"{"name":"A","preferences":{"n":1},"conversation_history":[]}"#)
                .unwrap_err()
                .contains("structured")
        );
    }
}

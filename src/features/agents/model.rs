//! Inputs and their validation, the same code in the browser (messages beside the fields as
//! one types) and on the server (the check that counts). Problems are (field, message) pairs
//! named like the input's fields.

use serde::{Deserialize, Serialize};

pub type Problems = Vec<(String, String)>;

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2_000;
pub const SYSTEM_MAX: usize = 100_000;
pub const TAG_MAX: usize = 50;
pub const TAGS_MAX: usize = 20;
pub const LABEL_MAX: usize = 50;
pub const BLOCKS_MAX: usize = 10;
pub const DEFAULT_BLOCK_LIMIT: i64 = 5_000;
pub const PASSAGE_MAX: usize = 20_000;
pub const QUERY_MAX: usize = 1_000;
pub const TOP_K_MAX: u32 = 50;
pub const DEFAULT_TOP_K: u32 = 10;

/// A starting core memory block of a new agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BlockInput {
    pub label: String,
    pub value: String,
    /// Empty: [`DEFAULT_BLOCK_LIMIT`].
    #[serde(default)]
    pub limit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewAgentInput {
    pub name: String,
    pub model: String,
    pub embedding: String,
    #[serde(default)]
    pub description: String,
    /// Comma-separated.
    #[serde(default)]
    pub tags: String,
    /// Empty: the server's default system prompt.
    #[serde(default)]
    pub system: String,
    #[serde(default)]
    pub blocks: Vec<BlockInput>,
}

/// Rename and edit description / tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AgentEditInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PassageInput {
    pub text: String,
    /// Comma-separated.
    #[serde(default)]
    pub tags: String,
}

/// Semantic search of archival memory. Numbers and dates as typed (validated here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SearchInput {
    pub query: String,
    /// Empty: [`DEFAULT_TOP_K`].
    #[serde(default)]
    pub top_k: String,
    /// Comma-separated.
    #[serde(default)]
    pub tags: String,
    /// All tags must match (else any).
    #[serde(default)]
    pub match_all: bool,
    /// `YYYY-MM-DD`, inclusive: the viewer's days (see `tz`).
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// The viewer's offset from UTC in minutes (east positive) when the `from` day starts,
    /// and when the day after `to` starts (`components::time::filter_range`): the dates are
    /// the viewer's days. Without them, UTC days.
    #[serde(default)]
    pub tz: Option<i32>,
    #[serde(default)]
    pub tz_to: Option<i32>,
}

/// Letta quirk (found against 0.16.8): a name with other characters is refused with a 500
/// "Export failed: Agent name ... contains invalid characters" (letters of any language,
/// digits, spaces, hyphens, underscores and apostrophes only).
pub fn name_problem(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return Some("Give the agent a name.".into());
    }
    if name.chars().count() > NAME_MAX {
        return Some(format!("At most {NAME_MAX} characters."));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '\'')))
    {
        return Some(format!(
            "“{bad}” is not allowed: use letters, digits, spaces, hyphens (-), underscores (_) and apostrophes (')."
        ));
    }
    None
}

/// Comma-separated tags: trimmed, empty ones dropped, duplicates removed (first kept).
pub fn parse_tags(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for t in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

pub fn tags_problem(raw: &str) -> Option<String> {
    let tags = parse_tags(raw);
    if tags.len() > TAGS_MAX {
        return Some(format!("At most {TAGS_MAX} tags."));
    }
    tags.iter()
        .find(|t| t.chars().count() > TAG_MAX)
        .map(|t| format!("The tag “{t}” is longer than {TAG_MAX} characters."))
}

fn too_long(s: &str, max: usize, what: &str) -> Option<String> {
    (s.chars().count() > max).then(|| format!("{what} is at most {max} characters."))
}

/// The block's limit: empty is the default, else a whole number from 100 to 1,000,000.
pub fn block_limit(raw: &str) -> Result<i64, String> {
    match raw.trim() {
        "" => Ok(DEFAULT_BLOCK_LIMIT),
        t => match t.parse::<i64>() {
            Ok(n) if (100..=1_000_000).contains(&n) => Ok(n),
            _ => Err("A whole number from 100 to 1,000,000.".into()),
        },
    }
}

pub fn label_problem(label: &str) -> Option<String> {
    let label = label.trim();
    if label.is_empty() {
        return Some("Give the block a label, e.g. human or persona.".into());
    }
    if label.chars().count() > LABEL_MAX {
        return Some(format!("At most {LABEL_MAX} characters."));
    }
    label
        .chars()
        .any(char::is_whitespace)
        .then(|| "No spaces: e.g. human, persona or project_notes.".into())
}

pub fn new_agent_problems(i: &NewAgentInput) -> Problems {
    let mut p: Problems = vec![];
    let mut push = |f: String, m: Option<String>| {
        if let Some(m) = m {
            p.push((f, m));
        }
    };
    push("name".into(), name_problem(&i.name));
    push(
        "model".into(),
        i.model
            .trim()
            .is_empty()
            .then(|| "Choose a model.".to_string()),
    );
    push(
        "embedding".into(),
        i.embedding
            .trim()
            .is_empty()
            .then(|| "Choose an embedding model (archival memory needs one).".to_string()),
    );
    push(
        "description".into(),
        too_long(&i.description, DESCRIPTION_MAX, "The description"),
    );
    push("tags".into(), tags_problem(&i.tags));
    push(
        "system".into(),
        too_long(&i.system, SYSTEM_MAX, "The system prompt"),
    );
    if i.blocks.len() > BLOCKS_MAX {
        push(
            "blocks".into(),
            Some(format!("At most {BLOCKS_MAX} starting blocks.")),
        );
    }
    for (n, b) in i.blocks.iter().enumerate() {
        let label_msg = label_problem(&b.label).or_else(|| {
            i.blocks[..n]
                .iter()
                .any(|o| o.label.trim() == b.label.trim())
                .then(|| "Two blocks cannot have the same label.".to_string())
        });
        push(format!("blocks.{n}.label"), label_msg);
        match block_limit(&b.limit) {
            Err(m) => push(format!("blocks.{n}.limit"), Some(m)),
            Ok(limit) => {
                let chars = b.value.chars().count() as i64;
                push(
                    format!("blocks.{n}.value"),
                    (chars > limit)
                        .then(|| format!("{chars} characters, over the block's limit of {limit}.")),
                );
            }
        }
    }
    p
}

pub fn edit_problems(i: &AgentEditInput) -> Problems {
    let mut p: Problems = vec![];
    if let Some(m) = name_problem(&i.name) {
        p.push(("name".into(), m));
    }
    if let Some(m) = too_long(&i.description, DESCRIPTION_MAX, "The description") {
        p.push(("description".into(), m));
    }
    if let Some(m) = tags_problem(&i.tags) {
        p.push(("tags".into(), m));
    }
    p
}

pub fn passage_problems(i: &PassageInput) -> Problems {
    let mut p: Problems = vec![];
    let text = i.text.trim();
    if text.is_empty() {
        p.push(("text".into(), "Write the text to remember.".into()));
    } else if let Some(m) = too_long(text, PASSAGE_MAX, "A passage") {
        p.push(("text".into(), m));
    }
    if let Some(m) = tags_problem(&i.tags) {
        p.push(("tags".into(), m));
    }
    p
}

/// `YYYY-MM-DD` → (y, m, d), checked.
pub fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let s = s.trim();
    if s.len() != 10 {
        return None;
    }
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    ((1..=days).contains(&d) && (1900..=9999).contains(&y)).then_some((y, m, d))
}

pub fn top_k(raw: &str) -> Result<u32, String> {
    match raw.trim() {
        "" => Ok(DEFAULT_TOP_K),
        t => match t.parse::<u32>() {
            Ok(n) if (1..=TOP_K_MAX).contains(&n) => Ok(n),
            _ => Err(format!("A whole number from 1 to {TOP_K_MAX}.")),
        },
    }
}

pub fn search_problems(i: &SearchInput) -> Problems {
    let mut p: Problems = vec![];
    let q = i.query.trim();
    if q.is_empty() {
        p.push(("query".into(), "Type what to look for.".into()));
    } else if let Some(m) = too_long(q, QUERY_MAX, "The query") {
        p.push(("query".into(), m));
    }
    if let Err(m) = top_k(&i.top_k) {
        p.push(("top_k".into(), m));
    }
    if let Some(m) = tags_problem(&i.tags) {
        p.push(("tags".into(), m));
    }
    let from = i.from.trim();
    let to = i.to.trim();
    if !from.is_empty() && parse_date(from).is_none() {
        p.push(("from".into(), "A date as YYYY-MM-DD.".into()));
    }
    if !to.is_empty() && parse_date(to).is_none() {
        p.push(("to".into(), "A date as YYYY-MM-DD.".into()));
    }
    if let (Some(f), Some(t)) = (parse_date(from), parse_date(to)) {
        if f > t {
            p.push(("to".into(), "The end date is before the start date.".into()));
        }
    }
    p
}

/// The message for `field`, if any.
pub fn problem(p: &Problems, field: &str) -> Option<String> {
    p.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_servers_rule() {
        assert!(name_problem("Support bot 2").is_none());
        assert!(name_problem("Zoë's helper_1-x").is_none());
        assert!(name_problem("  ").is_some());
        for bad in ["a/b", "a.b", "what?", "x:y", "a@b"] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
        assert!(name_problem(&"a".repeat(NAME_MAX + 1)).is_some());
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated() {
        assert_eq!(parse_tags(" a, b ,,a,c "), vec!["a", "b", "c"]);
        assert!(parse_tags("").is_empty());
        assert!(tags_problem(&"x".repeat(TAG_MAX + 1)).is_some());
        let many: Vec<String> = (0..=TAGS_MAX).map(|n| n.to_string()).collect();
        assert!(tags_problem(&many.join(",")).is_some());
    }

    #[test]
    fn new_agent_checks_each_field_and_block() {
        let mut i = NewAgentInput {
            name: "Helper".into(),
            model: "m".into(),
            embedding: "e".into(),
            blocks: vec![
                BlockInput {
                    label: "human".into(),
                    value: "x".repeat(150),
                    limit: "100".into(),
                },
                BlockInput {
                    label: "human".into(),
                    value: String::new(),
                    limit: "abc".into(),
                },
            ],
            ..Default::default()
        };
        let p = new_agent_problems(&i);
        assert!(problem(&p, "blocks.0.value").unwrap().contains("150"));
        assert!(problem(&p, "blocks.1.label").is_some());
        assert!(problem(&p, "blocks.1.limit").is_some());
        assert!(problem(&p, "name").is_none());
        i.blocks.clear();
        i.model.clear();
        assert_eq!(new_agent_problems(&i).len(), 1);
    }

    #[test]
    fn search_dates_and_top_k() {
        let mut s = SearchInput {
            query: "cats".into(),
            ..Default::default()
        };
        assert!(search_problems(&s).is_empty());
        s.top_k = "0".into();
        s.from = "2026-02-30".into();
        let p = search_problems(&s);
        assert!(problem(&p, "top_k").is_some());
        assert!(problem(&p, "from").is_some());
        s.top_k = "5".into();
        s.from = "2026-03-02".into();
        s.to = "2026-03-01".into();
        assert_eq!(
            problem(&search_problems(&s), "to").unwrap(),
            "The end date is before the start date."
        );
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
    }

    #[test]
    fn passages_need_text() {
        let p = passage_problems(&PassageInput {
            text: "  ".into(),
            tags: String::new(),
        });
        assert!(problem(&p, "text").is_some());
    }
}

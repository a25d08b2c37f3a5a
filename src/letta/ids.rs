//! Letta's ids: `<prefix>-<uuid>`. Checked here, before any id from a browser reaches a URL
//! path (a `../` in one would walk the server's routes; anything else malformed gets a 422
//! about a regex from Letta).

/// `<prefix>-` and then hex digits and dashes (a uuid), at most 64 characters in all.
pub fn well_formed(prefix: &str, id: &str) -> bool {
    id.len() <= 64
        && id
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            })
}

/// An agent's id, well formed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentId(String);

impl AgentId {
    /// `raw` exactly as given (no trimming), if it is an agent id.
    pub fn parse(raw: &str) -> Option<AgentId> {
        well_formed("agent", raw).then(|| AgentId(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixed_uuids_are_ids() {
        for ok in [
            "agent-00000000-0000-4000-8000-000000000000",
            "agent-0c1d-42",
            "agent-1",
        ] {
            assert!(AgentId::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "agent-",
            "agent",
            "block-1",
            "agent-../../v1/blocks",
            "agent-../x",
            "agent-xyz",
            " agent-1",
            "agent-1 ",
            &format!("agent-{}", "0".repeat(59)),
        ] {
            assert!(AgentId::parse(bad).is_none(), "{bad}");
        }
        assert!(well_formed("identity", "identity-ab-12"));
        assert!(!well_formed("identity", "agent-ab"));
    }
}

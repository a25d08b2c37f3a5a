//! What the block layer's answers look like in both builds (server and browser).

use serde::{Deserialize, Serialize};

/// One kept value of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub id: i64,
    pub at: i64,
    /// editor | observed | restore | create | adopt | import
    pub source: String,
    pub actor: Option<String>,
    pub value: String,
}

#[cfg(feature = "ssr")]
impl From<super::history::VersionRow> for Version {
    fn from(v: super::history::VersionRow) -> Self {
        Version {
            id: v.id,
            at: v.at,
            source: v.source,
            actor: v.actor,
            value: v.value,
        }
    }
}

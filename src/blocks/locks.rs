//! One lock per block: two saves of the same block never interleave their read-check-write,
//! whichever screen (the persona editor, an agent's core memory) they come from.

use std::{collections::HashMap, sync::Arc};

use tokio::sync::Mutex;

#[derive(Clone, Default)]
pub struct BlockLocks(Arc<std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>>);

impl BlockLocks {
    /// The lock of the Letta block `block_id`, shared by every editor of that block.
    pub fn lock_for(&self, block_id: &str) -> Arc<Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(block_id.to_string()).or_default().clone()
    }
}

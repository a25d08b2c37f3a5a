//! Shared UI every screen uses: the layout and navigation, the Letta connection badge, form
//! fields, list paging (links, page size, pager), a card of links between two kinds of things,
//! the block editors' conflict choice and history, the confirm dialog, toasts, the theme
//! toggle, a bar chart, the textarea (the only one with a value on the server), and small
//! formatting helpers. Depends on `auth`, `error` and the blocks layer's shared types
//! (`blocks::model`) (and, on the server, the badge's server function on the Letta
//! connection); never on a feature.

pub mod block_edit;
pub mod chart;
pub mod confirm;
pub mod connection_badge;
pub mod diff;
pub mod field;
pub mod format;
pub mod layout;
pub mod link_card;
pub mod pager;
pub mod textarea;
pub mod theme;
pub mod time;
pub mod toast;

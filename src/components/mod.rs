//! Shared UI every screen uses: the layout and navigation, form fields, the confirm dialog,
//! toasts, the theme toggle, a bar chart, the textarea (the only one with a value on the server), and small
//! formatting helpers. Depends only on `auth` and `error`.

pub mod chart;
pub mod confirm;
pub mod field;
pub mod format;
pub mod layout;
pub mod textarea;
pub mod theme;
pub mod time;
pub mod toast;

pub mod api;
pub mod page;
#[cfg(feature = "ssr")]
pub mod service;

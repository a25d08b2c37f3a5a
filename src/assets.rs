//! [ssr] The names of the built assets. With `hash-files` (Cargo.toml) cargo-leptos puts a
//! content hash into every file name under /pkg and writes the hashes to `hash.txt` beside the
//! server binary; Leptos's `<HydrationScripts>` reads the JS and wasm names from there, and the
//! stylesheet link and the cache policy here follow the same file.

use std::{path::PathBuf, sync::OnceLock};

use leptos::config::LeptosOptions;

/// `hash.txt` beside the running binary, where cargo-leptos writes it.
fn hash_file(options: &LeptosOptions) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(options.hash_file.as_ref()))
}

/// Turns hashed names on when the build wrote a hash file and `LEPTOS_HASH_FILES` does not say
/// otherwise, so the binary finds its assets however it is started (scripts, Docker, by hand).
pub fn detect_hashed_names(options: &mut LeptosOptions) {
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = hash_file(options).is_some_and(|p| p.is_file());
    }
}

/// The hash cargo-leptos recorded for one kind of file (`js`, `wasm`, `css`).
fn recorded_hash(options: &LeptosOptions, kind: &str) -> Option<String> {
    let text = std::fs::read_to_string(hash_file(options)?).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == kind).then(|| v.trim().to_string())
    })
}

/// The stylesheet's URL: `/pkg/<output-name>[.<hash>].css`.
pub fn stylesheet_href(options: &LeptosOptions) -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| {
        let hash = options
            .hash_files
            .then(|| recorded_hash(options, "css"))
            .flatten()
            .map(|h| format!(".{h}"))
            .unwrap_or_default();
        format!(
            "/{}/{}{hash}.css",
            options.site_pkg_dir, options.output_name
        )
    })
}

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

/// Whether a file under /pkg may be kept by browsers for a year without asking (`immutable`),
/// or must be revalidated on each use (`no-cache`, answered by a cheap 304 while unchanged).
///
/// Only names that identify their bytes may be immutable, and with `--split` two do not:
/// cargo-leptos 0.3.10 names the hydration JS and the main wasm (`<output-name>.<hash>.js` and
/// `.wasm`) after their bytes BEFORE it writes the split loader's final name into both. That
/// name changes whenever a lazy chunk does, and even between two builds of the same source
/// (the split is not deterministic), so across deploys one of these names can stand for two
/// contents. Kept for a year, a returning browser would pair its old copy with a loader the new
/// server no longer has, and the page would never hydrate. The stylesheet, the split loader
/// (renamed after its final bytes) and the wasm chunks (which name nothing) are safe.
pub fn is_immutable(options: &LeptosOptions, name: &str) -> bool {
    let entry = name
        .strip_prefix(&*options.output_name)
        .is_some_and(|rest| rest.starts_with('.'))
        && (name.ends_with(".js") || name.ends_with(".wasm"));
    options.hash_files && !entry
}

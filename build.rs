// sqlx::migrate!() embeds ./migrations at compile time; without this a new migration file
// would not trigger a rebuild and would silently not be applied.
//
// The browser's wasm is linked without wasm-ld's string merging (`-O0` at link time; wasm-opt
// still optimises the result). Merged, the strings of every screen become one data blob, and
// `cargo leptos --split` must keep all of it in the main module as soon as the first screen
// uses one string of it: measured, a one-line change moved 91 KB of other screens' text into
// the first load (+32 KB brotli). Unmerged, each string goes with the screen that uses it, so
// the first load grows with what the first screens use, not by chance.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    if std::env::var("TARGET").is_ok_and(|t| t.starts_with("wasm32")) {
        println!("cargo:rustc-cdylib-link-arg=-O0");
    }
}

// sqlx::migrate!() embeds ./migrations at compile time; without this a new migration file
// would not trigger a rebuild and would silently not be applied.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

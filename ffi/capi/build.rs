//! Gives the shared library (cdylib) its versioned soname, so programs linked against
//! libhamdb.so.0 keep working across compatible releases.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" || os == "android" {
        // The major version comes from the workspace's one version declaration (Cargo.toml).
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libhamdb.so.{major}");
    }
}

//! Compresses the release binary's debug sections at link time. Rust's line tables (kept for
//! backtraces, which read compressed sections) are most of a release binary: 516 of 667 MB,
//! and 275 MB in all once compressed (docs/performance.md, "Where the bytes go").

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let gnu_linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    if release && gnu_linux {
        println!("cargo:rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
    }
}

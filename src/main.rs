//! The `dango` command: parses arguments and hands over to [`dango::cli`].

use std::process::ExitCode;

/// mimalloc instead of the system allocator: decoding allocates and frees millions of small
/// strings and maps per sync, and glibc's malloc spent a tenth of the CPU on them under perf.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    one_malloc_arena();
    dango::run_cli()
}

/// DuckDB's C++ still allocates through glibc, which gives each thread that allocates its own
/// arena and keeps what those arenas free: peak memory grows with no time saved over one
/// shared arena (measured: docs/performance.md, "Measurements behind the code").
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets a tunable of glibc's allocator, and runs before any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

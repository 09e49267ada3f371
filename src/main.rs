//! The `dango` command: parses arguments and hands over to [`dango::cli`].

use std::process::ExitCode;

/// mimalloc instead of the system allocator: decoding allocates and frees millions of small
/// strings and maps per sync, and glibc's malloc spent a tenth of the CPU on them under perf.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    dango::cli::main()
}

//! The `dango` command: parses arguments and hands over to [`dango::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    dango::cli::main()
}

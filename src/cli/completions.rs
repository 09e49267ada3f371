//! `dango completions SHELL`: the shell's completion script for every command and flag,
//! generated from the same definitions the parser uses, so it never drifts.

use std::process::ExitCode;

use clap::CommandFactory;

/// Arguments of `dango completions`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dango completions bash > ~/.local/share/bash-completion/completions/dango\n  dango completions zsh > ~/.zfunc/_dango\n  dango completions fish > ~/.config/fish/completions/dango.fish\n  dango completions powershell >> $PROFILE"
)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "dango", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(ExitCode::SUCCESS)
}

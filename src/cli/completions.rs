//! `qwenctl completions SHELL` and the hidden `generate-assets DIR`, which writes the
//! committed `completions/` and `man/` files. A test compares the committed files with what
//! [`render_all`] produces, so adding a flag without regenerating fails CI.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::output;

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: ShellArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl ShellArg {
    fn shell(self) -> Shell {
        match self {
            ShellArg::Bash => Shell::Bash,
            ShellArg::Zsh => Shell::Zsh,
            ShellArg::Fish => Shell::Fish,
            ShellArg::Powershell => Shell::PowerShell,
            ShellArg::Elvish => Shell::Elvish,
        }
    }

    /// The committed file name under `completions/`.
    fn file_name(self) -> &'static str {
        match self {
            ShellArg::Bash => "qwenctl.bash",
            ShellArg::Zsh => "_qwenctl",
            ShellArg::Fish => "qwenctl.fish",
            ShellArg::Powershell => "_qwenctl.ps1",
            ShellArg::Elvish => "qwenctl.elv",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct GenerateAssetsArgs {
    /// Directory that receives completions/ and man/
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// The completion script for one shell.
pub(crate) fn render_completion(shell: ShellArg) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell.shell(), &mut cmd, "qwenctl", &mut buf);
    buf
}

/// Every generated file, as (path relative to the repository root, contents).
pub fn render_all() -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for shell in ShellArg::value_variants() {
        files.push((
            Path::new("completions").join(shell.file_name()),
            render_completion(*shell),
        ));
    }
    let cmd = Cli::command();
    render_man(&cmd, "qwenctl", &mut files)?;
    Ok(files)
}

/// One page per command, recursively: `qwenctl.1`, `qwenctl-serve.1`, `qwenctl-sessions-list.1`.
fn render_man(
    cmd: &clap::Command,
    name: &str,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
) -> anyhow::Result<()> {
    let page = cmd
        .clone()
        .name(name.to_owned())
        .display_name(name.to_owned());
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf)?;
    files.push((Path::new("man").join(format!("{name}.1")), buf));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_man(sub, &format!("{name}-{}", sub.get_name()), files)?;
    }
    Ok(())
}

pub(crate) fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let script = render_completion(args.shell);
    output::text(&String::from_utf8_lossy(&script))?;
    Ok(())
}

pub(crate) fn generate_assets(args: GenerateAssetsArgs) -> anyhow::Result<()> {
    for (rel, contents) in render_all()? {
        let path = args.dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        tracing::info!("wrote {}", path.display());
    }
    Ok(())
}

//! Exit codes, decided in one place.
//!
//! 0 success; 1 the operation failed (upstream refused, not found, network); 2 usage or
//! configuration error; 130 interrupted. A closed stdout (`qwenctl … | head`) is not a
//! failure: the reader got what it wanted, so we exit 0 quietly, as ripgrep does.

use std::process::ExitCode;

/// A usage or configuration error: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The user interrupted the command (Ctrl-C): exit 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// A failure whose message is complete as is and was already formatted for the user:
/// exit 1, printed without a context chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failed(pub String);

/// Whether the error is (caused by) a closed stdout pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints the error (once, on stderr, [`crate::output::inert`]: it may quote stored or
/// upstream text) and returns the exit code it deserves.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    if err.downcast_ref::<Interrupted>().is_some() {
        return ExitCode::from(130);
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "qwenctl: error: {}",
            crate::output::inert(&format!("{err:#}"))
        );
    }
    if err.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

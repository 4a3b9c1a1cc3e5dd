//! glibc's allocator, told to give memory back (issue 18, finding 12).
//!
//! After a large request (a 100,000-message chat is a 3.9 MB body and tens of megabytes of
//! parsing), glibc keeps what was freed: freeing a large block raises its mmap threshold to
//! that block's size and its trim threshold to twice that, so later blocks of a few
//! megabytes come from the heap and the heap is trimmed only when megabytes are free at its
//! top. `serve` then stayed about 26 MB above its 14 MB baseline for good. With both
//! thresholds fixed at glibc's own starting value (128 KiB), which also turns the raising
//! off, it returns to within about 10 MB (docs/BENCHMARKS.md has the figures; jemalloc and
//! mimalloc were measured too and did worse at idle or after the request).
//!
//! The thresholds can only be set without `unsafe` through `GLIBC_TUNABLES`, which glibc
//! reads when the process starts. So `serve`, on Linux with glibc, execs itself once with
//! the variable added, first thing, before anything is opened: the same process id, the same
//! arguments and environment. A `GLIBC_TUNABLES` already in the environment, even empty, is
//! the operator's choice and is left alone (and is what stops a second exec). If the exec
//! fails, serving goes on with glibc's defaults.

/// The tunables `serve` runs with.
pub const TUNABLES: &str = "glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072";

const VAR: &str = "GLIBC_TUNABLES";

/// Execs this program again with [`TUNABLES`] when they are not set; returns when it does
/// not (another platform, the variable already set, or the exec failed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    use std::os::unix::process::CommandExt as _;
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env(VAR, TUNABLES)
        .exec();
    // Only reached when the exec failed; logging is not set up yet.
    let _ = err;
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

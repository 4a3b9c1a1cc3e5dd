//! The examples and the documentation are checked by scripts, not here: they need the
//! official OpenAI SDKs (Python and Node), nginx and systemd, which this test binary does not
//! install.
//!
//! - `scripts/check-docs.sh` runs every shell block of README.md, examples/README.md and
//!   docs/*.md that is meant to run (and with it every client in examples/) against a real
//!   `qwenctl serve` in front of the standalone fake upstream, checking exit codes and the
//!   output the text promises; it also checks that docs/API.md names every route, that
//!   docs/CONFIGURATION.md names every variable, and that every inline `qwenctl …` command
//!   exists with its flags.
//! - `scripts/check-deploy.sh` validates deploy/: `nginx -t` and a streamed answer through
//!   nginx, `systemd-analyze verify` and `security` on the unit, and a lint of the Dockerfile
//!   and compose file (no Docker engine in CI).

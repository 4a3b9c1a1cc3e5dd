#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the Rust tests, then the official
# OpenAI SDKs (Python and Node) against a running `serve`, the web console in headless
# Chromium, every command shown in the docs,
# and the deployment files (nginx -t, systemd-analyze verify). Installs what it needs itself,
# PostgreSQL included: the store's tests run on SQLite and on a private PostgreSQL server
# (scripts/pg.sh), and fail here if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pg.sh
source scripts/pg.sh

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
else
  cargo test --locked --no-fail-fast
fi
bash tests/compat/run.sh
bash tests/browser/run.sh
bash scripts/check-docs.sh
bash scripts/check-deploy.sh

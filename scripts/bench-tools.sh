#!/usr/bin/env bash
# The CPU a tool turn costs before the upstream: parsing a chat-completions body with 20 tools
# and 50 tool turns, fingerprinting it and building the upstream message. Release build;
# prints the figures docs/BENCHMARKS.md records ("Tool turns").
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --locked --quiet --lib turn_cost -- --ignored --nocapture --test-threads 1

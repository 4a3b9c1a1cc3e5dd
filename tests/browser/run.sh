#!/usr/bin/env bash
# The web console's browser test: Debian's headless Chromium, driven by playwright-core
# over the DevTools protocol, against a real `qwenctl serve --fake-upstream` with API keys
# (console.test.mjs says what it checks). Installs what it needs itself: the `chromium`
# package when /usr/bin/chromium is missing (no browser is downloaded at run time), and
# playwright-core into tests/browser/node_modules when package-lock.json changed.
# Screenshots of every view land in target/ui-screenshots/ (CI keeps them);
# UPDATE_SCREENSHOT=1 also copies the overview into docs/console.png for the README.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.lock.installed" 2>/dev/null; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
  cp "$here/package-lock.json" "$here/node_modules/.lock.installed"
fi

cargo build --locked --quiet --bin qwenctl
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
shots="$(target_dir)/ui-screenshots"
mkdir -p "$shots"

# serve's HOME, database and the browser profile all live in the scratch directory.
start serve env -i "PATH=$PATH" "HOME=$work" "DATABASE_PATH=$work/console.db" \
  "API_KEYS=sk-console-test-key" "LOG_LEVEL=warn" "$(target_dir)/debug/qwenctl" serve --fake-upstream --port 0
QWENCTL_URL="$url" QWENCTL_KEY="sk-console-test-key" SCREENSHOTS="$shots" \
  PROFILE_DIR="$work/chromium-profile" node "$here/console.test.mjs"

if [ "${UPDATE_SCREENSHOT:-}" = 1 ]; then
  cp "$shots/overview-desktop-light.png" "$root/docs/console.png"
fi

#!/usr/bin/env bash
# Validates the deployment files in deploy/ with the real tools, as far as this machine allows.
#
# - deploy/nginx.conf: `nginx -t` on a wrapper config that includes it, with a throw-away
#   self-signed certificate in place of the Let's Encrypt paths (the only lines changed);
#   then a real nginx with the same file (ports moved to free ones on 127.0.0.1, upstream
#   pointed at a test `qwenctl serve --fake-upstream`) carries a slow streamed answer over
#   TLS, and the first chunk must arrive well before the last one; as a control, the same
#   measurement through a copy with buffering forced on must see the answer in one piece.
# - deploy/qwenctl.service: `systemd-analyze verify` must print nothing (it only warns about
#   unknown keys and bad values, so any output fails), `systemd-analyze security` must rate
#   it 2.0 or better, and the settings the deployment guide promises must be there. verify
#   insists that ExecStart= exists, so it checks a copy whose ExecStart= names the built
#   qwenctl instead of /usr/local/bin/qwenctl; the man page of Documentation= is looked up in
#   man/. The unit is not started: there is no systemd running as init here.
# - deploy/nginx-replicas.conf (the compose `replicas` profile): `nginx -t` with the replicas'
#   host names pointed at loopback, and the settings streams and fail-over need.
# - deploy/Dockerfile, deploy/Dockerfile.dockerignore, deploy/docker-compose.yml: no Docker
#   engine runs here, so they are linted only: the promised settings are there, every COPY
#   source exists and is not ignored, the copied tree is a complete cargo package (manifest
#   and every include_str!/include_bytes! of non-test code resolve inside it), the compose
#   file parses and points at the Dockerfile, and both health-check commands succeed
#   against a running `serve` and fail against a closed port.
#
# Installs what it needs when missing (as root, on Debian/Ubuntu): nginx-light, systemd,
# man-db, openssl, curl, python3-yaml. Package installs never start services: a temporary
# policy-rc.d forbids it unless one exists already.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
deploy="$root/deploy"

fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# --- tools -------------------------------------------------------------------------------
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "check-deploy: missing ${need[*]}; install them (Debian: apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "check-deploy: installing ${need[*]}"
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$policy_added" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
export PATH="$PATH:/usr/sbin:/sbin"

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The built qwenctl: for ExecStart= and the live checks.
bin=""
if command -v cargo >/dev/null 2>&1; then
  cargo build --locked --quiet --bin qwenctl
  bin="$(target_dir)/debug/qwenctl"
else
  echo "check-deploy: no cargo: the checks that need a running qwenctl are skipped"
fi

serve_port=""
if [ -n "$bin" ]; then
  serve_port="$(free_port)"
  # Keyless, as a trusted network might run it behind nginx: it answers only the names it is
  # told (ALLOWED_HOSTS, the server_name of deploy/nginx.conf) and its own origin.
  env -i "PATH=$PATH" "HOME=$work" "DATABASE_PATH=$work/serve.db" "LOG_LEVEL=warn" \
    "ALLOWED_HOSTS=qwen.example.com" \
    "$bin" serve --fake-upstream --port "$serve_port" >"$work/serve.out" 2>"$work/serve.err" &
  pids+=("$!")
  for _ in $(seq 1 100); do
    grep -q 'Listening on' "$work/serve.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q 'Listening on' "$work/serve.out" || { cat "$work/serve.err" >&2; exit 1; }
fi

# --- nginx ---------------------------------------------------------------------------------
mkdir -p "$work/nginx/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=qwen.example.com" \
  -keyout "$work/nginx/tls/privkey.pem" -out "$work/nginx/tls/fullchain.pem" 2>/dev/null
site="$work/nginx/site.conf"
sed -e "s#/etc/letsencrypt/live/qwen.example.com/#$work/nginx/tls/#" "$deploy/nginx.conf" >"$site"
if [ "$(diff "$deploy/nginx.conf" "$site" | grep -c '^>')" != 2 ]; then
  fail "nginx.conf: expected exactly the two certificate lines to point at the test certificate"
fi
wrapper() { # $1: site file to include
  cat <<EOF
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events {}
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path $work/nginx/client_body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $1;
}
EOF
}
wrapper "$site" >"$work/nginx/test.conf"
if out="$(nginx -t -q -c "$work/nginx/test.conf" -p "$work/nginx" 2>&1)" && [ -z "$out" ]; then
  ok "nginx -t accepts deploy/nginx.conf (nginx $(nginx -v 2>&1 | sed 's#.*/##'))"
else
  fail "nginx -t on deploy/nginx.conf:"; echo "$out"
fi
for directive in 'proxy_buffering off;' 'proxy_http_version 1.1;' 'proxy_set_header Connection "";' \
  'proxy_read_timeout 3600s;' 'server 127.0.0.1:3000;' 'client_max_body_size 10m;' 'listen 443 ssl'; do
  grep -qF "$directive" "$deploy/nginx.conf" || fail "nginx.conf lacks \`$directive\`"
done
if grep -E '^\s*gzip_types' "$deploy/nginx.conf" | grep -q 'event-stream'; then
  fail "nginx.conf compresses text/event-stream"
fi

# deploy/nginx-replicas.conf (the compose `replicas` profile): nginx -t with the replicas'
# compose host names pointed at loopback (nothing resolves them here), listening on a free
# port; then the settings streams and fail-over rely on.
replicas_site="$work/nginx/replicas.conf"
sed -e "s#server replica-a:3000#server 127.0.0.1:3000#; s#server replica-b:3000#server 127.0.0.2:3000#" \
  -e "s#listen 80;#listen 127.0.0.1:$(free_port);#" "$deploy/nginx-replicas.conf" >"$replicas_site"
wrapper "$replicas_site" >"$work/nginx/replicas-test.conf"
if out="$(nginx -t -q -c "$work/nginx/replicas-test.conf" -p "$work/nginx" 2>&1)" && [ -z "$out" ]; then
  ok "nginx -t accepts deploy/nginx-replicas.conf"
else
  fail "nginx -t on deploy/nginx-replicas.conf:"; echo "$out"
fi
for directive in 'server replica-a:3000' 'server replica-b:3000' 'proxy_buffering off;' \
  'proxy_http_version 1.1;' 'proxy_set_header Connection "";' 'proxy_read_timeout 3600s;' \
  'proxy_next_upstream error timeout;'; do
  grep -qF "$directive" "$deploy/nginx-replicas.conf" || fail "nginx-replicas.conf lacks \`$directive\`"
done

# Prints "status ctype first total text" for a slow streamed answer through nginx on port $1.
cat >"$work/stream.py" <<'PY'
import http.client, json, ssl, sys, time
port = int(sys.argv[1])
ctx = ssl._create_unverified_context()
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
body = json.dumps({"model": "qwen3-max", "stream": True, "messages": [
    {"role": "user", "content": "one two three four five six [[fake:slow=250]]"}]})
start = time.monotonic()
conn.request("POST", "/v1/chat/completions", body=body,
             headers={"Host": "qwen.example.com", "Content-Type": "application/json"})
resp = conn.getresponse()
first, text = None, ""
for raw in resp:
    line = raw.decode().strip()
    if line.startswith("data: {") and '"content":"' in line and '"content":""' not in line:
        first = first or time.monotonic() - start
        text += json.loads(line[6:])["choices"][0]["delta"]["content"]
    if line == "data: [DONE]":
        break
total = time.monotonic() - start
ok = (resp.status == 200 and resp.getheader("content-type") == "text/event-stream"
      and first is not None and text.startswith("You said: one two"))
print("status=%d first=%.2fs total=%.2fs" % (resp.status, first or -1, total))
# exit 0: streamed (first chunk >1 s before the end), 3: arrived in one piece, 1: broken
sys.exit(1 if not ok else (0 if total - first > 1.0 else 3))
PY
# Starts nginx in the foreground with site file $1 as instance $2 (own pid and log), as a
# child of this script, and waits until it listens on port $3.
start_nginx() {
  local dir="$work/nginx/$2"
  mkdir -p "$dir"
  wrapper "$1" | sed -e "s#$work/nginx/nginx.pid#$dir/nginx.pid#" -e "s#$work/nginx/error.log#$dir/error.log#" >"$dir/nginx.conf"
  nginx -c "$dir/nginx.conf" -p "$work/nginx" -g 'daemon off;' 2>"$dir/start.err" &
  pids+=("$!")
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$dir/start.err" "$dir/error.log" 2>/dev/null
  return 1
}
live_site() { # $1: https port, $2: http port, $3: source site file
  sed -e "s#listen 443 ssl#listen 127.0.0.1:$1 ssl#" -e "s#listen 80;#listen 127.0.0.1:$2;#" \
    -e '/listen \[::\]/d' -e "s#server 127.0.0.1:3000;#server 127.0.0.1:$serve_port;#" "$3"
}
if [ -n "$serve_port" ]; then
  https_port="$(free_port)"; http_port="$(free_port)"
  live_site "$https_port" "$http_port" "$site" >"$work/nginx/live.conf"
  if start_nginx "$work/nginx/live.conf" live "$https_port"; then
    if result="$(python3 "$work/stream.py" "$https_port")"; then
      ok "nginx streams an SSE answer from qwenctl over TLS chunk by chunk ($result)"
    else
      fail "streaming through nginx: $result"; cat "$work/nginx/live/error.log" 2>/dev/null || true
    fi
    code="$(curl -sk -o /dev/null -w '%{http_code}' --resolve "qwen.example.com:$https_port:127.0.0.1" "https://qwen.example.com:$https_port/health")"
    [ "$code" = 200 ] && ok "GET /health through nginx: 200" || fail "GET /health through nginx: $code"
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/v1/models")"
    [ "$code" = 301 ] && ok "plain HTTP redirects to HTTPS: 301" || fail "plain HTTP: $code, expected 301"
    # What the keyless serve behind nginx lets through: its own name and origin (the console
    # on this very port), not a rebinding name nor a foreign page's cross-site post.
    site_url="https://qwen.example.com:$https_port"
    via() { # $@: extra curl arguments; prints the status code
      curl -sk -o /dev/null -w '%{http_code}' --resolve "qwen.example.com:$https_port:127.0.0.1" "$@"
    }
    chat='{"model":"qwen3-max","messages":[{"role":"user","content":"hi"}]}'
    code="$(via -H "Origin: $site_url" -H 'Content-Type: application/json' -d "$chat" "$site_url/v1/chat/completions")"
    [ "$code" = 200 ] && ok "a same-origin POST (the console) through nginx: 200" || fail "same-origin POST through nginx: $code, expected 200"
    code="$(via -H 'Origin: https://evil.example.com' -H 'Content-Type: text/plain' -d "$chat" "$site_url/v1/chat/completions")"
    [ "$code" = 403 ] && ok "a cross-site text/plain POST through nginx: 403" || fail "cross-site POST through nginx: $code, expected 403"
    code="$(curl -sk -o /dev/null -w '%{http_code}' -H 'Host: evil.example.com' "https://127.0.0.1:$https_port/v1/sessions")"
    [ "$code" = 403 ] && ok "a foreign Host through nginx (DNS rebinding): 403" || fail "foreign Host through nginx: $code, expected 403"
    code="$(via "$site_url/metrics")"
    [ "$code" = 200 ] && ok "GET /metrics through nginx from 127.0.0.1: 200" || fail "GET /metrics through nginx: $code, expected 200"
  else
    fail "nginx would not start with deploy/nginx.conf"
  fi
  # Control: the same measurement through a buffering proxy must see one piece, or the
  # streaming check above proves nothing.
  c_https="$(free_port)"; c_http="$(free_port)"
  live_site "$c_https" "$c_http" "$site" \
    | sed 's#proxy_buffering off;#proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;#' >"$work/nginx/control.conf"
  if start_nginx "$work/nginx/control.conf" control "$c_https"; then
    set +e; result="$(python3 "$work/stream.py" "$c_https")"; rc=$?; set -e
    if [ "$rc" = 3 ]; then
      ok "control: with buffering forced on, the same answer arrives in one piece ($result)"
    else
      fail "control: a buffering nginx was not detected (exit $rc: $result)"
    fi
  fi
fi

# --- systemd -------------------------------------------------------------------------------
unit="$deploy/qwenctl.service"
mkdir -p "$work/unit" "$work/man/man1"
ln -s "$root"/man/*.1 "$work/man/man1/"
exec_bin="${bin:-$(command -v true)}"
sed "s#^ExecStart=/usr/local/bin/qwenctl #ExecStart=$exec_bin #" "$unit" >"$work/unit/qwenctl.service"
if [ "$(diff "$unit" "$work/unit/qwenctl.service" | grep -c '^>')" != 1 ]; then
  fail "qwenctl.service: expected ExecStart=/usr/local/bin/qwenctl serve"
fi
verify() { MANPATH="$work/man" SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$1" 2>&1; }
if out="$(verify "$work/unit/qwenctl.service")" && [ -z "$out" ]; then
  ok "systemd-analyze verify accepts deploy/qwenctl.service (systemd $(systemd-analyze --version | head -1 | awk '{print $2}'))"
else
  fail "systemd-analyze verify deploy/qwenctl.service:"; echo "$out"
fi
# The check must notice mistakes: a planted unknown key and a bad value.
mkdir -p "$work/planted"
sed 's#^NoNewPrivileges=yes#NoNewPrivileges=yes\nProtectEverything=yes\nLockPersonality=maybe#' \
  "$work/unit/qwenctl.service" >"$work/planted/qwenctl.service"
if [ -n "$(verify "$work/planted/qwenctl.service" || true)" ]; then
  ok "systemd-analyze verify reports a planted unknown key and bad value"
else
  fail "systemd-analyze verify did not notice planted mistakes: the check above proves nothing"
fi
exposure="$(systemd-analyze security --offline=yes --no-pager "$work/unit/qwenctl.service" 2>&1 \
  | sed -n 's/.*Overall exposure level for qwenctl.service: \([0-9.]*\).*/\1/p')"
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
  ok "systemd-analyze security: exposure $exposure (at most 2.0 wanted)"
else
  fail "systemd-analyze security: exposure '${exposure:-?}', at most 2.0 wanted"
fi
for setting in DynamicUser=yes StateDirectory=qwenctl 'Environment=DATABASE_PATH=/var/lib/qwenctl/qwen_proxy.db' \
  EnvironmentFile=/etc/qwenctl/qwenctl.env 'ExecStart=/usr/local/bin/qwenctl serve' ProtectSystem=strict \
  ProtectHome=yes PrivateTmp=yes PrivateDevices=yes NoNewPrivileges=yes \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service CapabilityBoundingSet= \
  LockPersonality=yes MemoryDenyWriteExecute=yes RestrictNamespaces=yes ProtectKernelTunables=yes \
  ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes Restart=on-failure KillSignal=SIGTERM \
  LimitNOFILE=65536; do
  grep -qxF "$setting" "$unit" || fail "qwenctl.service lacks $setting"
done
shutdown_ms="$(sed -n 's/.*SHUTDOWN_TIMEOUT_MS: u64 = \([0-9_]*\);.*/\1/p' src/config/defaults.rs | tr -d _)"
stop_s="$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$unit")"
if [ -n "$shutdown_ms" ] && [ -n "$stop_s" ] && [ $((stop_s * 1000)) -gt "$shutdown_ms" ]; then
  ok "TimeoutStopSec=${stop_s}s exceeds the default SHUTDOWN_TIMEOUT of ${shutdown_ms} ms"
else
  fail "TimeoutStopSec (${stop_s:-?} s) must exceed SHUTDOWN_TIMEOUT (${shutdown_ms:-?} ms)"
fi

# --- Dockerfile, .dockerignore, compose ---------------------------------------------------
dockerfile="$deploy/Dockerfile"
for want in 'FROM rust:1.95-slim-bookworm AS builder' 'cargo build --release --locked' \
  'FROM debian:bookworm-slim' 'ca-certificates' 'VOLUME /data' 'EXPOSE 3000' 'HEALTHCHECK ' \
  'DATABASE_PATH=/data/qwen_proxy.db' 'HOST=0.0.0.0' 'ENTRYPOINT ["/usr/local/bin/qwenctl"]'; do
  grep -qF "$want" "$dockerfile" || fail "Dockerfile lacks \`$want\`"
done
user="$(sed -n 's/^USER \([^:]*\).*/\1/p' "$dockerfile" | tail -1)"
if [ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ]; then
  ok "Dockerfile: runs as $user, not root"
else
  fail "Dockerfile: no non-root USER"
fi
# COPY sources (build stage, context = repository root), staged as Docker would copy them.
mkdir -p "$work/context"
copies=0
while read -r src dest; do
  copies=$((copies + 1))
  if [ ! -e "$root/$src" ]; then fail "Dockerfile: COPY source $src does not exist"; continue; fi
  mkdir -p "$work/context/$(dirname "$src")"
  cp -R "$root/$src" "$work/context/$src"
done < <(sed -n 's/^COPY \([^-][^ ]*\) \([^ ]*\)$/\1 \2/p; s/^COPY \([^-][^ ]*\) \([^ ]*\) \([^ ]*\)$/\1 \3\n\2 \3/p' "$dockerfile")
[ "$copies" -gt 0 ] && ok "Dockerfile: all $copies COPY sources exist" || fail "Dockerfile: no COPY found"
while read -r pattern; do
  case "$pattern" in ''|'#'*) continue ;; esac
  for copied in Cargo.toml Cargo.lock src crates; do
    case "$copied" in $pattern|$pattern/*) fail "Dockerfile.dockerignore excludes $copied ($pattern)" ;; esac
  done
done <"$deploy/Dockerfile.dockerignore"
if command -v cargo >/dev/null 2>&1; then
  if (cd "$work/context" && cargo metadata --no-deps --locked --format-version 1 >/dev/null); then
    ok "Dockerfile: the copied tree is a complete cargo package (cargo metadata --locked)"
  else
    fail "Dockerfile: cargo metadata fails on the copied tree"
  fi
fi
missing_includes="$(cd "$work/context" && python3 - <<'PY'
import os, re
# Test-only files (mod tests; #[cfg(test)]) are not compiled by `cargo build --release`.
test_file = re.compile(r"(^|/)(tests?|[a-z_]*_tests|tests_[a-z_]*)\.rs$|/tests/")
for dirpath, _, files in [w for top in ["src", "crates"] for w in os.walk(top)]:
    for name in files:
        path = os.path.join(dirpath, name)
        if not name.endswith(".rs") or test_file.search(path):
            continue
        for inc in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', open(path).read()):
            target = os.path.normpath(os.path.join(dirpath, inc))
            if not os.path.exists(target):
                print("%s -> %s" % (path, inc))
PY
)"
if [ -z "$missing_includes" ]; then
  ok "Dockerfile: every include_str!/include_bytes! of non-test code is in the copied tree"
else
  fail "Dockerfile: files the build embeds are not copied:"; echo "$missing_includes"
fi

compose="$deploy/docker-compose.yml"
if summary="$(/usr/bin/python3 - "$compose" "$deploy" "$shutdown_ms" <<'PY'
import os, re, sys, yaml
path, deploy, shutdown_ms = sys.argv[1], sys.argv[2], int(sys.argv[3] or 30000)
doc = yaml.safe_load(open(path))
svc = doc["services"]["qwenctl"]
problems = []
build = svc.get("build", {})
ctx = os.path.normpath(os.path.join(deploy, build.get("context", ".")))
if not os.path.isfile(os.path.join(ctx, build.get("dockerfile", "Dockerfile"))):
    problems.append("build: no Dockerfile at context %s" % ctx)
if not os.path.isfile(os.path.join(ctx, "Cargo.toml")):
    problems.append("build: the context is not the repository root")
env_file = svc.get("env_file")
if not env_file:
    problems.append("no env_file")
if not any(str(v).endswith(":/data") for v in svc.get("volumes", [])):
    problems.append("no volume mounted on /data")
if svc.get("restart") not in ("always", "unless-stopped", "on-failure"):
    problems.append("no restart policy")
hc = svc.get("healthcheck", {}).get("test")
if not hc:
    problems.append("no healthcheck")
env = svc.get("environment", {})
if env.get("DATABASE_PATH") != "/data/qwen_proxy.db" or env.get("HOST") != "0.0.0.0":
    problems.append("environment must set DATABASE_PATH=/data/qwen_proxy.db and HOST=0.0.0.0")
grace = str(svc.get("stop_grace_period", "10s"))
m = re.fullmatch(r"(\d+)s", grace)
if not m or int(m.group(1)) * 1000 <= shutdown_ms:
    problems.append("stop_grace_period %s does not exceed SHUTDOWN_TIMEOUT" % grace)
if problems:
    print("; ".join(problems))
    sys.exit(1)
print("env_file %s, restart %s, volume /data, stop_grace_period %s" % (env_file, svc["restart"], grace))
PY
)"; then
  ok "docker-compose.yml: parses; $summary"
else
  fail "docker-compose.yml: $summary"
fi

# The `replicas` profile: PostgreSQL, a migration step, two replicas on one DATABASE_URL
# behind nginx, none of them started by a plain `up`.
if summary="$(/usr/bin/python3 - "$compose" "$deploy" <<'PY'
import os, sys, yaml
path, deploy = sys.argv[1], sys.argv[2]
svc = yaml.safe_load(open(path))["services"]
problems = []
replicas = ["postgres", "migrate", "replica-a", "replica-b", "balancer"]
for name in replicas:
    if name not in svc:
        problems.append("no service %s" % name)
    elif svc[name].get("profiles") != ["replicas"]:
        problems.append("%s is not only in the replicas profile" % name)
if "profiles" in svc.get("qwenctl", {}):
    problems.append("the single qwenctl service must start without a profile")
if not problems:
    urls = {svc[n]["environment"].get("DATABASE_URL") for n in ("migrate", "replica-a", "replica-b")}
    if len(urls) != 1 or not str(next(iter(urls))).startswith("postgres://"):
        problems.append("migrate and both replicas must share one postgres:// DATABASE_URL")
    if svc["migrate"].get("command") != ["db", "migrate"]:
        problems.append("migrate must run `db migrate`")
    for name in ("replica-a", "replica-b"):
        dep = svc[name].get("depends_on", {}).get("migrate", {})
        if dep.get("condition") != "service_completed_successfully":
            problems.append("%s must wait for the migration" % name)
        if "DATABASE_PATH" in svc[name].get("environment", {}):
            problems.append("%s sets DATABASE_PATH" % name)
    mounts = [str(v) for v in svc["balancer"].get("volumes", [])]
    if not any(m.startswith("./nginx-replicas.conf:") and os.path.isfile(os.path.join(deploy, "nginx-replicas.conf")) for m in mounts):
        problems.append("the balancer does not mount deploy/nginx-replicas.conf")
    if "pg_isready" not in " ".join(svc["postgres"].get("healthcheck", {}).get("test", [])):
        problems.append("postgres has no pg_isready health check")
if problems:
    print("; ".join(problems))
    sys.exit(1)
print("postgres, migrate, replica-a, replica-b, balancer on one DATABASE_URL")
PY
)"; then
  ok "docker-compose.yml profile replicas: $summary"
else
  fail "docker-compose.yml profile replicas: $summary"
fi
if docker compose version >/dev/null 2>&1; then
  if POSTGRES_PASSWORD=check docker compose -f "$compose" --profile replicas config -q 2>"$work/compose.err"; then
    ok "docker compose config accepts both profiles"
  else
    fail "docker compose config: $(cat "$work/compose.err")"
  fi
fi

# Both health checks, run as Docker would (exec form), against serve and against nothing.
healthchecks="$(/usr/bin/python3 - "$dockerfile" "$compose" <<'PY'
import json, re, sys, yaml
text = open(sys.argv[1]).read().replace("\\\n", " ")
m = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.M)
print(json.dumps(["Dockerfile"] + json.loads(m.group(1))))
test = yaml.safe_load(open(sys.argv[2]))["services"]["qwenctl"]["healthcheck"]["test"]
assert test[0] == "CMD", test
print(json.dumps(["docker-compose.yml"] + test[1:]))
PY
)"
if [ -n "$serve_port" ]; then
  closed_port="$(free_port)"
  while read -r line; do
    python3 - "$line" "$serve_port" "$closed_port" <<'PY' && ok "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0])') health check: healthy with serve up, unhealthy without" || fail "health check of $line"
import json, os, subprocess, sys
cmd = json.loads(sys.argv[1])[1:]
def run(port):
    # The image sets PORT=3000; the compose test names 3000 itself: point both at the test.
    argv = [a.replace("/3000 ", "/%s " % port) for a in cmd]
    env = dict(os.environ, PORT=port)
    return subprocess.run(argv, env=env, timeout=10, capture_output=True).returncode
up, down = run(sys.argv[2]), run(sys.argv[3])
sys.exit(0 if up == 0 and down != 0 else 1)
PY
  done <<<"$healthchecks"
fi

# --- man pages and completions, as a user would load them ----------------------------------
bad_pages=0
for page in man/*.1; do
  if ! { MANWIDTH=80 man -l "$page" 2>"$work/man.err" | grep -q "NAME" && [ ! -s "$work/man.err" ]; }; then
    fail "man -l $page does not render: $(head -c 300 "$work/man.err")"
    bad_pages=$((bad_pages + 1))
  fi
done
[ "$bad_pages" -eq 0 ] && ok "man -l renders every page under man/"
replies="$(bash -c 'source completions/qwenctl.bash; COMP_WORDS=(qwenctl se); COMP_CWORD=1; _qwenctl qwenctl se qwenctl; echo "${COMPREPLY[@]}"')"
if [ "$replies" = "serve sessions" ]; then
  ok "completions/qwenctl.bash completes subcommands (qwenctl se<TAB> → $replies)"
else
  fail "completions/qwenctl.bash: qwenctl se<TAB> gave '$replies'"
fi

if [ "$fails" -gt 0 ]; then
  echo "check-deploy: $fails failures"
  exit 1
fi
echo "check-deploy: all checks passed (the container image itself is not built: no Docker engine)"

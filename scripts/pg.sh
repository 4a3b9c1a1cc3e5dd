# A private PostgreSQL server for the tests (sourced by scripts/test.sh, not run).
#
# Installs Debian's `postgresql` package when no server is installed, creates a throw-away
# cluster in target/pg-data (initdb as the `postgres` user when run as root, since the server
# refuses to run as root), starts it on 127.0.0.1 on a free port with trust authentication
# on loopback only, exports QWENCTL_TEST_PG_URL for the tests (each test makes its own schema
# in it) and stops the server when the sourcing shell exits. The test that kills and
# restarts a server makes a cluster of its own with the binaries in QWENCTL_TEST_PG_BIN.

pg_root="$(pwd)"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "pg.sh: installing PostgreSQL (apt-get install -y postgresql)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi

pg_data="$pg_root/target/pg-data"
pg_log="$pg_root/target/pg.log"
pg_run=()
if [ "$(id -u)" = 0 ]; then
  # The server will not run as root: the cluster belongs to `postgres`, which must be able
  # to reach it through the work tree.
  pg_run=(runuser -u postgres --)
fi
pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

rm -rf "$pg_data"
mkdir -p "$pg_data"
touch "$pg_log"
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$pg_data" "$pg_log"
  chmod o+x "$pg_root" "$pg_root/target" 2>/dev/null || true
fi
"${pg_run[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust --no-sync \
  --no-instructions -E UTF8 --locale=C.UTF-8 >/dev/null
# Loopback only, no Unix socket; enough connections for many test processes at once; no
# fsync for the tests (only a crash of the machine would lose what it holds), PostgreSQL's
# own durability for the benchmark (QWENCTL_PG_DURABLE=1).
pg_sync="-c fsync=off -c full_page_writes=off"
if [ "${QWENCTL_PG_DURABLE:-}" = 1 ]; then
  pg_sync=""
fi
pg_opts="-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories= \
-c max_connections=400 $pg_sync"
"${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -o "$pg_opts" -w -t 30 start >/dev/null

export QWENCTL_TEST_PG_URL="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
export QWENCTL_TEST_PG_BIN="$pg_bin"
export QWENCTL_REQUIRE_PG=1

pg_stop() {
  "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
}
trap pg_stop EXIT
echo "pg.sh: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port" >&2

#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 server.
#
#   scripts/with-postgres.sh CMD ARGS...
#
# Starts a private cluster (temporary data directory, a free port on 127.0.0.1,
# its unix socket inside the temporary directory), creates the role `loyaltyd`
# and its database `loyaltyd_test`, and runs CMD with
#
#   LOYALTYD_TEST_PG_URL        postgresql://loyaltyd@127.0.0.1:PORT/loyaltyd_test
#   LOYALTYD_TEST_PG_ADMIN_URL  postgresql://postgres@127.0.0.1:PORT/postgres (superuser,
#                               for CREATE DATABASE per test suite)
#
# The server is always stopped and its directory deleted afterwards; the exit
# status is CMD's. Authentication is `trust`: the cluster listens on loopback
# only and lives as long as CMD.
#
# PostgreSQL refuses to run as root; as root the cluster runs as the system
# user `postgres` (created when missing), otherwise as the calling user.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

PG_BIN=${LOYALTYD_PG_BIN:-/usr/lib/postgresql/15/bin}
# Ports tried at random in this range until the server binds one.
PORT_MIN=20000
PORT_MAX=40000
MAX_START_ATTEMPTS=20
START_TIMEOUT_SECONDS=60

for tool in initdb pg_ctl postgres; do
  if [ ! -x "$PG_BIN/$tool" ]; then
    echo "with-postgres: $PG_BIN/$tool not found; run scripts/install-deps.sh" >&2
    exit 1
  fi
done
PSQL="$PG_BIN/psql"
[ -x "$PSQL" ] || PSQL=$(command -v psql)

# As root, every server command runs as the `postgres` system user.
as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id -u postgres >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postgres
  fi
  as_server_user=(runuser -u postgres --)
fi

# /tmp rather than $TMPDIR: the server user must be able to reach the directory.
WORK_DIR=$(mktemp -d "${LOYALTYD_PG_TMPDIR:-/tmp}/loyaltyd-pg.XXXXXX")
DATA_DIR="$WORK_DIR/data"
SOCKET_DIR="$WORK_DIR/socket"
LOG_FILE="$WORK_DIR/server.log"
mkdir -p "$SOCKET_DIR"
chmod 700 "$WORK_DIR"
if [ ${#as_server_user[@]} -gt 0 ]; then chown -R postgres: "$WORK_DIR"; fi

server_started=0
cleanup() {
  local status=$?
  if [ "$server_started" -eq 1 ]; then
    # Immediate: the data is deleted next, so the shutdown checkpoint (seconds
    # of fsync after a test run) would be wasted.
    "${as_server_user[@]}" "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m immediate -w -t 30 stop \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap cleanup EXIT
# A signal to this script reaches CMD too, and the server is still cleaned up.
child=""
on_signal() {
  if [ -n "$child" ]; then
    kill -s "$1" "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# --no-sync: initdb's own final flush is worthless for a throwaway cluster; the
# server itself runs with fsync=on.
"${as_server_user[@]}" "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C.UTF-8 --no-sync >"$WORK_DIR/initdb.log" 2>&1 || {
  echo "with-postgres: initdb failed:" >&2
  cat "$WORK_DIR/initdb.log" >&2
  exit 1
}

port_in_use() {
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

PORT=""
for _ in $(seq "$MAX_START_ATTEMPTS"); do
  candidate=$((PORT_MIN + RANDOM % (PORT_MAX - PORT_MIN)))
  if port_in_use "$candidate"; then continue; fi
  # Durability settings are the production ones (fsync, synchronous_commit);
  # memory is kept small, connections high enough for concurrency tests.
  if "${as_server_user[@]}" "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w \
    -t "$START_TIMEOUT_SECONDS" start -o "-c port=$candidate -c listen_addresses=127.0.0.1 \
-c unix_socket_directories=$SOCKET_DIR -c fsync=on -c synchronous_commit=on \
-c full_page_writes=on -c shared_buffers=32MB -c max_connections=200 \
-c max_locks_per_transaction=128" >/dev/null 2>&1; then
    PORT=$candidate
    server_started=1
    break
  fi
  # A port taken between the check and the bind: try another one.
done
if [ -z "$PORT" ]; then
  echo "with-postgres: could not start PostgreSQL after $MAX_START_ATTEMPTS attempts:" >&2
  tail -n 30 "$LOG_FILE" >&2 || true
  exit 1
fi

admin_psql() {
  "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}
admin_psql -c "CREATE ROLE loyaltyd LOGIN" -c "CREATE DATABASE loyaltyd_test OWNER loyaltyd" \
  >/dev/null

export LOYALTYD_TEST_PG_URL="postgresql://loyaltyd@127.0.0.1:$PORT/loyaltyd_test"
export LOYALTYD_TEST_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL 15 on 127.0.0.1:$PORT (data in $DATA_DIR)" >&2

# In the background so that a signal interrupts `wait` at once; stdin is passed
# on explicitly (a background command would otherwise read /dev/null).
set +e
"$@" <&0 &
child=$!
wait "$child"
status=$?
set -e
exit "$status"

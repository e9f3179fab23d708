#!/usr/bin/env bash
# Loads the web dashboard in headless Chromium against a scratch queue with two
# workers running, and checks what a person would see and do (scripts/web-check.py
# drives the browser through the DevTools protocol):
#   - the overview's counts equal `status --json`, and follow a change live;
#   - a command and output holding <script> (and an escape sequence) show as text
#     and never run;
#   - a running job's page shows a line it prints after the page loaded (server-sent
#     events, no reload);
#   - clicking Retry in the DLQ posts the page's form, and the CLI then sees the job
#     leave the DLQ and complete; a POST without the CSRF token is refused.
# With --screenshots it also writes screenshots/web-{overview,job,dlq}.png.
#
#   scripts/web-check.sh [--screenshots]
#   QUEUECTL_DB='postgres://…&schema=webcheck' scripts/web-check.sh   # on PostgreSQL
#
# The database: QUEUECTL_DB when it is a postgres:// address of a new schema (the
# check refuses an existing queue, and drops the schema at the end with psql), else
# a scratch SQLite file; never a QUEUECTL_DB file. Needs Debian's chromium (apt-get install -y chromium), python3
# and a built queuectl (QUEUECTL_BINARY, default .build/debug/queuectl). The web
# server and the workers are stopped on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
q="${QUEUECTL_BINARY:-$PWD/.build/debug/queuectl}"
export QUEUECTL_BINARY="$q"
shots=()
[ "${1:-}" = "--screenshots" ] && shots=(--screenshots)
command -v chromium >/dev/null || { echo "error: chromium is not installed (apt-get install -y chromium)" >&2; exit 1; }
started=$(date +%s)

dir="$(mktemp -d)"
case "${QUEUECTL_DB:-}" in
    # The workers' local files for a server's queue (running jobs' output, logs) go in
    # the scratch folder too, not in ~/.local/state.
    postgres://*|postgresql://*) store="PostgreSQL"; export XDG_STATE_HOME="$dir/state" ;;
    *) export QUEUECTL_DB="$dir/queue.db"; store="SQLite" ;;
esac
web="" workers="" drop_schema=false
stop() {   # PID: SIGTERM, then SIGKILL after 10 s
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    [ -n "$web" ] && stop "$web"
    if [ -n "$workers" ]; then
        # Running jobs are cancelled first, so the workers' graceful stop is quick.
        "$q" cancel --state processing --all >/dev/null 2>&1 || true
        stop "$workers"
    fi
    if $drop_schema; then
        # The schema this check created, dropped as the role that owns it (password
        # from ~/.pgpass or PGPASSWORD, as for queuectl): psql gets the address
        # without queuectl's schema= parameter.
        python3 - "$QUEUECTL_DB" > "$dir/drop.sql" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
query = urllib.parse.parse_qsl(u.query)
schema = next(v for k, v in query if k == "schema")
print(u._replace(query=urllib.parse.urlencode([(k, v) for k, v in query if k != "schema"])).geturl())
print('DROP SCHEMA IF EXISTS "%s" CASCADE;' % schema.replace('"', '""'))
PY
        psql -X -q -v ON_ERROR_STOP=1 -d "$(head -1 "$dir/drop.sql")" -c "$(tail -1 "$dir/drop.sql")" 2>&1 \
            | grep -v 'NOTICE\|DETAIL\|drop cascades' >&2 || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$store" = PostgreSQL ]; then
    # Only a new schema (it answers "no queue", exit 3): an existing one is somebody's queue.
    code=0
    "$q" status >/dev/null 2>"$dir/status.err" || code=$?
    case "$code" in
        3) drop_schema=true ;;
        0) echo "error: QUEUECTL_DB names an existing queue; give the address of a new schema (&schema=NEW)" >&2; exit 1 ;;
        *) cat "$dir/status.err" >&2; exit 1 ;;
    esac
fi
echo "web check on $store"

# Three jobs that end at once (one completes, two die: one with <script> and an
# escape sequence, one that succeeds once a flag file exists) and a delayed one.
"$q" enqueue '{"id":"xss","command":"echo \"<script>document.title=\\\"pwned\\\"</script>\"; printf \"\\033[31mred\\033[0m\\n\"; exit 3 # \u001b[2J","max_retries":0}' >/dev/null
"$q" enqueue '{"id":"hello","command":"echo hello"}' >/dev/null
"$q" enqueue "{\"id\":\"flaky\",\"command\":\"test -e $dir/flag || { echo no flag yet; exit 4; }; echo flag found\",\"max_retries\":0}" >/dev/null
"$q" enqueue '{"id":"later","command":"true","delay":3600}' >/dev/null
"$q" worker start --count 2 --foreground > "$dir/workers.log" 2>&1 &
workers=$!
# A job's state; empty while the database does not answer (the loops below retry).
state() { "$q" show "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null || true; }
settled=false
for _ in $(seq 150); do
    [ "$(state xss)" = dead ] && [ "$(state flaky)" = dead ] && [ "$(state hello)" = completed ] && { settled=true; break; }
    sleep 0.1
done
$settled || { echo "FAIL the first jobs did not end (workers' log below)"; cat "$dir/workers.log"; exit 1; }
touch "$dir/flag"
# Then a long job that prints a line, and another only once the browser is watching.
"$q" enqueue "{\"id\":\"live\",\"command\":\"echo first-line; while [ ! -e $dir/go ]; do sleep 0.1; done; echo LIVE-MARK; sleep 60\"}" >/dev/null
running=false
for _ in $(seq 150); do
    [ "$(state live)" = processing ] && "$q" logs live 2>/dev/null | grep -q first-line && { running=true; break; }
    sleep 0.1
done
$running || { echo "FAIL the live job did not start (workers' log below)"; cat "$dir/workers.log"; exit 1; }

"$q" web --listen 127.0.0.1:0 > "$dir/web.out" 2>&1 &
web=$!
for _ in $(seq 100); do grep -q 'http://' "$dir/web.out" && break; sleep 0.05; done
base="$(grep -o 'http://[0-9.:]*' "$dir/web.out" || true)"
[ -n "$base" ] || { echo "FAIL queuectl web did not start:"; cat "$dir/web.out"; exit 1; }

[ ${#shots[@]} -gt 0 ] && mkdir -p screenshots
result=0
python3 scripts/web-check.py "$base" "$dir" "${shots[@]}" || result=1
[ ${#shots[@]} -gt 0 ] && echo "wrote screenshots/web-overview.png, web-job.png, web-dlq.png"
if [ "$result" = 0 ]; then
    echo "web check passed on $store ($(( $(date +%s) - started )) s)"
else
    echo "web check FAILED on $store"
    exit 1
fi

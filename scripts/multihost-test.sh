#!/usr/bin/env bash
# Two hosts on one PostgreSQL queue, as network namespaces on this machine.
#
#   scripts/multihost-test.sh            (as root; builds nothing: uses .build/debug/queuectl)
#
# Host A and host B are network namespaces, each with its own hostname (a UTS
# namespace) and one veth link to this machine, where the PostgreSQL server
# listens; addresses live on those veths only (10.231.1.0/30, 10.231.2.0/30).
#
# 1. Workers on both hosts drain 2,000 jobs; each job appends its id to a marker
#    file: every id must be there exactly once, and both hosts must have worked.
# 2. Long jobs run on both hosts; A's link is cut while its workers are busy.
#    B recovers A's jobs once A's leases run out (on the database's clock) and runs
#    them. When the link comes back, A's workers find themselves released: they
#    record nothing and kill their jobs. Each of those jobs' history tells it: a
#    run on host A interrupted ("worker lost"), then a run on host B succeeded.
#
# The namespaces, workers and the scratch schema are removed on exit, failed or not.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${QUEUECTL_BINARY:-$PWD/.build/debug/queuectl}
[ -x "$bin" ] || { echo "multihost: no $bin (run swift build)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "multihost: must run as root (network namespaces)" >&2; exit 1; }

say() { echo "multihost: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

base=$(scripts/postgres-test-server.sh)
port=$(echo "$base" | sed -E 's#.*:([0-9]+)/.*#\1#')
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
schema="multihost_$$"
work=$(mktemp -d /tmp/queuectl-multihost.XXXXXX)
chmod 0755 "$work"

cleanup() {
    set +e
    for h in a b; do
        ip netns exec "q$h" "$bin" worker stop --timeout 10 --db "$(addr_of "$h")" >/dev/null 2>&1
    done
    for h in a b; do
        ip netns pids "q$h" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns delete "q$h" 2>/dev/null
        ip link delete "q${h}0" 2>/dev/null
    done
    echo "DROP SCHEMA IF EXISTS $schema CASCADE;" | runuser -u postgres -- psql -p "$port" -qtA -d queuectl_test >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

server_ip() { [ "$1" = a ] && echo 10.231.1.1 || echo 10.231.2.1; }
addr_of() { echo "postgres://queuectl_test@$(server_ip "$1"):$port/queuectl_test?sslmode=disable&schema=$schema"; }

# The server must answer on the veth addresses: listen on all of this machine's
# addresses (only the veths and loopback exist for these tests' traffic) and let
# the test role in from 10.231.0.0/16 with its password.
hba=$(runuser -u postgres -- psql -p "$port" -qtA -c "SHOW hba_file")
if ! grep -q "10.231.0.0/16" "$hba"; then
    echo "host queuectl_test queuectl_test 10.231.0.0/16 scram-sha-256" >> "$hba"
fi
if [ "$(runuser -u postgres -- psql -p "$port" -qtA -c "SHOW listen_addresses")" != "*" ]; then
    runuser -u postgres -- psql -p "$port" -qtA -c "ALTER SYSTEM SET listen_addresses = '*'" >/dev/null
    pg_ctlcluster "$version" main restart
else
    pg_ctlcluster "$version" main reload
fi
# The password for the veth addresses, as for 127.0.0.1 (see postgres-test-server.sh).
password=$(grep -F "127.0.0.1:$port:queuectl_test:queuectl_test:" ~/.pgpass | head -1 | cut -d: -f5-)
for h in a b; do
    line="$(server_ip "$h"):$port:queuectl_test:queuectl_test:$password"
    grep -qxF "$line" ~/.pgpass || echo "$line" >> ~/.pgpass
done

# Two hosts: namespace qX with veth qX1 (10.231.N.2) linked to qX0 here (10.231.N.1).
for h in a b; do
    n=$([ "$h" = a ] && echo 1 || echo 2)
    ip netns add "q$h"
    ip link add "q${h}0" type veth peer name "q${h}1"
    ip link set "q${h}1" netns "q$h"
    ip addr add "10.231.$n.1/30" dev "q${h}0"
    ip link set "q${h}0" up
    ip netns exec "q$h" ip addr add "10.231.$n.2/30" dev "q${h}1"
    ip netns exec "q$h" ip link set "q${h}1" up
    ip netns exec "q$h" ip link set lo up
done

# Runs queuectl on host X: its namespace, its hostname, its address of the server.
on() {
    local h=$1; shift
    ip netns exec "q$h" unshare --uts sh -c 'hostname "$0"; exec "$@"' "host-$h" "$bin" "$@" --db "$(addr_of "$h")"
}
status_of() { on b status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['jobs']['$1'])"; }
wait_for() {   # wait_for SECONDS DESCRIPTION COMMAND…
    local limit=$1 what=$2; shift 2
    for _ in $(seq 1 $((limit * 5))); do "$@" && return 0; sleep 0.2; done
    fail "$what within $limit s"
}

say "phase 1: 2 workers on each host drain 2,000 jobs"
on a config set backoff-base 1 >/dev/null
on a config set lease-timeout 2 >/dev/null
marker="$work/marker"
: > "$marker"
chmod 0666 "$marker"
python3 - "$marker" > "$work/jobs.jsonl" <<'EOF'
import json, sys
for i in range(2000):
    print(json.dumps({"id": f"m{i:04d}", "command": 'echo "$QUEUECTL_JOB_ID" >> ' + sys.argv[1]}))
EOF
on a worker start --count 2 >/dev/null
on b worker start --count 2 >/dev/null
on b enqueue - < "$work/jobs.jsonl" >/dev/null
completed() { [ "$(status_of completed)" = 2000 ]; }
wait_for 180 "2,000 jobs completed" completed
lines=$(wc -l < "$marker")
dupes=$(sort "$marker" | uniq -d | wc -l)
distinct=$(sort -u "$marker" | wc -l)
[ "$lines" = 2000 ] && [ "$dupes" = 0 ] && [ "$distinct" = 2000 ] \
    || fail "marker holds $lines lines, $distinct ids, $dupes ids more than once"
by_host=$(on a worker list --json | python3 -c "
import json, sys
done = {}
for w in json.load(sys.stdin):
    done[w['host']] = done.get(w['host'], 0) + w['jobs_done']
print(' '.join(f'{h}={n}' for h, n in sorted(done.items())))")
say "every id exactly once; jobs per host: $by_host"
case "$by_host" in *host-a=0*|*host-b=0*|"") fail "one host did no work: $by_host" ;; esac
case "$by_host" in *host-a=*host-b=*) ;; *) fail "workers of both hosts expected: $by_host" ;; esac

say "phase 2: long jobs on both hosts, then host A's link is cut"
python3 - > "$work/long.jsonl" <<'EOF'
import json
for i in range(4):
    print(json.dumps({"id": f"long{i}", "command": "sleep 8"}))
EOF
on b enqueue - < "$work/long.jsonl" >/dev/null
a_busy() {
    on a worker list --json | python3 -c "
import json, sys
sys.exit(0 if any(w['host'] == 'host-a' and (w.get('job_id') or '').startswith('long') for w in json.load(sys.stdin)) else 1)"
}
wait_for 30 "a long job running on host A" a_busy
held=$(on b worker list --json | python3 -c "
import json, sys
print(' '.join(w['job_id'] for w in json.load(sys.stdin) if w['host'] == 'host-a' and (w.get('job_id') or '').startswith('long')))")
say "host A runs: $held; cutting its link"
ip link set qa0 down
all_long_done() { [ "$(status_of completed)" = 2004 ]; }
wait_for 60 "host B finishing every long job, host A's included" all_long_done
say "host B recovered and finished host A's jobs; restoring A's link"
ip link set qa0 up

for job in $held; do
    story=$(on b show "$job" --json | python3 -c "
import json, sys
job = json.load(sys.stdin)
print(' | '.join(f\"{r.get('host') or '?'}:{r.get('outcome')}:{r.get('error') or ''}\" for r in job['history']))")
    say "$job: $story"
    case "$story" in
        *host-a:interrupted:worker\ lost*host-b:succeeded*) ;;
        *) fail "$job's history does not show the lost run on host A and the rerun on host B" ;;
    esac
done

# A's workers come back, find they were released, record nothing and register anew.
a_log=$(grep -l "schema=$schema\b" ~/.local/state/queuectl/pg-*10.231.1.1*/queue-logs/workers.log 2>/dev/null | head -1 || true)
released() {
    [ -n "$a_log" ] || a_log=$(grep -l "schema=$schema\b" ~/.local/state/queuectl/pg-*10.231.1.1*/queue-logs/workers.log 2>/dev/null | head -1 || true)
    [ -n "$a_log" ] && grep -q "released by recovery" "$a_log"
}
wait_for 90 "host A's workers noticing they were released" released
sleep 1
[ "$(status_of completed)" = 2004 ] || fail "completed changed after host A came back"
for job in $held; do
    runs=$(on b show "$job" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['history']))")
    [ "$runs" = 2 ] || fail "$job has $runs runs after host A came back (fenced workers must record nothing)"
done
grep -q "lease lost before the result was recorded; result discarded\|abandoning current run" "$a_log" \
    || fail "host A's workers did not say they discarded their runs"
rm -rf "$(dirname "$(dirname "$a_log")")"
say "ok: 2,000 jobs once each over two hosts; host A's cut-off jobs recovered by host B; A's workers fenced"

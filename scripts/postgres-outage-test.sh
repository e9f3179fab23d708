#!/usr/bin/env bash
# The PostgreSQL server goes down under running workers, and comes back.
#
#   scripts/postgres-outage-test.sh      (as root; builds nothing: uses .build/debug/queuectl,
#                                         or QUEUECTL_BINARY)
#
# CAUTION: it stops and starts the machine's test cluster (the one
# scripts/postgres-test-server.sh starts), which cuts every other client of that
# server. Before each stop it prints how many other clients the test database has
# and waits (up to QUEUECTL_OUTAGE_WAIT seconds, default 120) for them to leave.
#
# 1. An outage shorter than the lease: 3 workers drain 400 quick jobs and 12 jobs
#    of 1.5 s (lease-timeout 20 s); the server stops for about 3 s mid-drain. A CLI
#    command during the outage prints one line naming the server and exits 1. On
#    return: every job completed, every id in the marker file exactly once, every
#    job run once (no lease can have been lost), the same 3 workers alive, no
#    worker process exited, and the workers' log shows the errors, the backoff
#    (0.1 s doubling, never above 5 s) and each worker finishing jobs afterwards.
#    The jobs running at the stop end during the outage: their results are kept
#    and recorded when the server is back.
# 2. An outage longer than the lease (lease-timeout 3 s, server down 8 s) while
#    jobs of 2 s run on all 3 workers; one worker comes back late (SIGSTOP from
#    just before the stop until the others release it, as a worker whose host is
#    slow to come back). The two that come back at once keep their leases (they give each other
#    a lease's grace after an outage they all shared: their jobs run once) and
#    release the late one about a lease after the server's return; its job's
#    history shows the interrupted run ("worker lost") then the rerun; the late
#    worker, let go on, records nothing and registers again in the same process.
#    `status` run the moment the server is back releases no worker (a lease
#    counts from the server's start).
#    Every job completes, every id is in the marker, and a job that ran (or
#    marked) more than once has a history that says why.
#
# Workers, the scratch schema, the worker log folder and temp files are removed
# on exit, and the server is started again, failed or not.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${QUEUECTL_BINARY:-$PWD/.build/debug/queuectl}
[ -x "$bin" ] || { echo "outage: no $bin (run swift build)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "outage: must run as root (it stops and starts the server)" >&2; exit 1; }

began=$(date +%s.%N)
say() { printf 'outage: [%5.1f s] %s\n' "$(echo "$(date +%s.%N) - $began" | bc)" "$*" >&2; }
failures=0
check() {   # check DESCRIPTION COMMAND…: a failed check is reported, the test goes on
    local what=$1; shift
    if "$@"; then say "ok: $what"; else say "FAILED: $what"; failures=$((failures + 1)); fi
}
fail() { say "FAILED: $*"; diagnose; exit 1; }
# What a failure leaves to read: the queue's counts, its workers, the worker log's tail.
diagnose() {
    set +e
    [ "${server_down:-0}" = 1 ] && return
    say "status: $(timeout 20 "$bin" status --json --db "$addr" 2>&1 | tr -d '\n' | head -c 600)"
    say "workers: $(timeout 20 "$bin" worker list --db "$addr" 2>&1)"
    if [ -n "${worker_log:-}" ] && [ -f "$worker_log" ]; then
        say "last 60 lines of $worker_log:"
        tail -n 60 "$worker_log" >&2
        if [ -n "${QUEUECTL_OUTAGE_KEEP:-}" ]; then cp "$worker_log" "$QUEUECTL_OUTAGE_KEEP"; say "worker log copied to $QUEUECTL_OUTAGE_KEEP"; fi
    fi
}

base=$(scripts/postgres-test-server.sh)
port=$(echo "$base" | sed -E 's#.*:([0-9]+)/.*#\1#')
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
schema="outage_$$"
addr="$base&schema=$schema"
work=$(mktemp -d /tmp/queuectl-outage.XXXXXX)
chmod 0755 "$work"
worker_log=""
server_down=0

server() { pg_ctlcluster "$version" main "$@"; }
cleanup() {
    set +e
    if [ "$server_down" = 1 ]; then server start; fi
    if [ "${late_frozen:-0}" = 1 ]; then kill -CONT "$late_pid"; fi
    "$bin" worker stop --timeout 10 --db "$addr" >/dev/null 2>&1
    pgrep -f "schema=$schema" | xargs -r kill -9 2>/dev/null
    echo "DROP SCHEMA IF EXISTS $schema CASCADE;" | runuser -u postgres -- psql -p "$port" -qtA -d queuectl_test >/dev/null 2>&1
    [ -n "$worker_log" ] && rm -rf "$(dirname "$(dirname "$worker_log")")"
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

q() { "$bin" "$@" --db "$addr"; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
completed() { q status --json 2>/dev/null | json_get "d['jobs']['completed']"; }
all_completed() { [ "$(completed)" = "$1" ]; }
wait_for() {   # wait_for SECONDS DESCRIPTION COMMAND…
    local limit=$1 what=$2; shift 2
    for _ in $(seq 1 $((limit * 5))); do "$@" && return 0; sleep 0.2; done
    fail "$what within $limit s"
}

# Client connections to the test database that are not this test's (its workers'
# and supervisor's, found by the schema in their command lines).
other_clients() {   # other_clients [quiet]: prints the count of the others
    local total mine pids states
    total=$(runuser -u postgres -- psql -p "$port" -qtA -c \
        "select count(*) from pg_stat_activity where backend_type='client backend' and datname='queuectl_test'")
    pids=$(pgrep -d'|' -f "schema=$schema" || true)
    mine=0
    [ -n "$pids" ] && mine=$(ss -tnpH state established "( dport = :$port )" | grep -cE "pid=($pids)," || true)
    if [ -z "${1:-}" ]; then
        states=$(runuser -u postgres -- psql -p "$port" -qtA -F= -c "select coalesce(state, '?'), count(*) from pg_stat_activity
            where backend_type='client backend' and datname='queuectl_test' group by 1 order by 1" | tr '\n' ' ')
        say "clients of queuectl_test: $total ($mine of them this test's; by state: ${states:-none})"
    fi
    echo $((total - mine))
}
wait_for_quiet_server() {
    local limit=${QUEUECTL_OUTAGE_WAIT:-120} others i
    for i in $(seq 0 "$limit"); do
        if [ $((i % 10)) = 0 ]; then others=$(other_clients); else others=$(other_clients quiet); fi
        [ "$others" -le 0 ] && return 0
        [ "$i" = 0 ] && say "waiting up to $limit s for the other clients of the test database to leave"
        sleep 1
    done
    say "WARNING: $others other client(s) still connected after $limit s; going on anyway"
}
stop_server_when() {   # stop_server_when COMMAND…: once nobody else uses the server and COMMAND holds
    local limit=${QUEUECTL_OUTAGE_WAIT:-120} others i
    for i in $(seq 0 $((limit * 5))); do
        if [ $((i % 50)) = 0 ]; then others=$(other_clients); else others=$(other_clients quiet); fi
        [ "$others" -le 0 ] && "$@" && break
        [ "$i" = 0 ] && [ "$others" -gt 0 ] && say "waiting up to $limit s for the other clients of the test database to leave"
        if [ "$i" = $((limit * 5)) ]; then
            "$@" || fail "the drain went past the point to stop the server at while other clients were connected"
            say "WARNING: $others other client(s) still connected after $limit s; stopping the server anyway"
        fi
        sleep 0.2
    done
    say "stopping the server ($others other client(s) of queuectl_test)"
    down_at=$(date +%s.%N)
    server_down=1
    server stop -m fast
}
start_server() {   # up_at: when the server accepts connections again
    server start &
    local starting=$!
    local tries=0
    until pg_isready -q -h 127.0.0.1 -p "$port"; do
        tries=$((tries + 1)); [ "$tries" -lt 1200 ] || fail "the server did not come back within 60 s"
        sleep 0.05
    done
    up_at=$(date +%s.%N)
    wait "$starting"
    server_down=0
    say "server back after $(printf '%.1f' "$(echo "$up_at - $down_at" | bc)") s"
}

# The jobs: each appends its id to the marker when it ends (a run killed on the way
# leaves no mark).
make_jobs() {   # make_jobs PREFIX QUICK LONG LONG_SECONDS MARKER: the long ones spread among the quick ones
    python3 - "$@" <<'EOF'
import json, sys
prefix, quick, long_, seconds, marker = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
mark = 'echo "$QUEUECTL_JOB_ID" >> ' + marker
every = max(1, quick // max(1, long_))
n = 0
for i in range(quick):
    if n < long_ and i % every == every // 2:
        print(json.dumps({"id": f"{prefix}-long{n:02d}", "command": f"sleep {seconds}; " + mark}))
        n += 1
    print(json.dumps({"id": f"{prefix}-{i:04d}", "command": mark}))
EOF
}

workers_json() { q worker list --json; }
long_jobs_running() {   # long_jobs_running N: at least N workers on a long job
    [ "$(workers_json | json_get "sum(1 for w in d if '-long' in (w.get('job_id') or ''))")" -ge "$1" ]
}

# Every job completed; every id in the marker; returns the ids run more than once
# (in history or in the marker) on stdout, each with its history.
audit() {   # audit PREFIX MARKER TOTAL
    local prefix=$1 marker=$2 total=$3
    q list --json > "$work/list.json"
    python3 - "$prefix" "$marker" "$total" "$work/list.json" > "$work/audit" <<'EOF'
import json, sys, collections
prefix, marker, total, listing = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
jobs = [j for j in json.load(open(listing)) if j["id"].startswith(prefix + "-")]
marks = collections.Counter(line.strip() for line in open(marker) if line.strip())
states = collections.Counter(j["state"] for j in jobs)
ids = {j["id"] for j in jobs}
print("jobs", len(jobs))
print("states", " ".join(f"{s}={n}" for s, n in sorted(states.items())))
print("unmarked", " ".join(sorted(i for i in ids if marks[i] == 0)) or "-")
print("strangers", " ".join(sorted(i for i in marks if i not in ids)) or "-")
print("again", " ".join(sorted(j["id"] for j in jobs if j["attempts"] > 1 or marks[j["id"]] > 1)) or "-")
for j in jobs:
    if j["attempts"] > 1 or marks[j["id"]] > 1:
        print("counts", j["id"], j["attempts"], marks[j["id"]])
EOF
    cat "$work/audit" >&2
}
field() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$work/audit"; }
history_of() {
    q show "$1" --json | python3 -c "
import json, sys
job = json.load(sys.stdin)
print(' | '.join(f\"{r.get('outcome')}:{r.get('error') or ''}\" for r in job['history']))"
}

"$bin" --version >/dev/null
q config set lease-timeout 20 >/dev/null
q config set backoff-base 1 >/dev/null
wait_for_quiet_server
q worker start --count 3 > "$work/start.out" 2> "$work/start.err" || { cat "$work/start.err" >&2; fail "worker start"; }
worker_log=$(sed -nE 's/.*log: (.*)$/\1/p' "$work/start.err" | tail -1)
[ -f "$worker_log" ] || fail "worker start printed no worker log (got: $(cat "$work/start.err"))"
say "3 workers on schema $schema; log $worker_log"

# ---------------------------------------------------------------------------
say "phase 1: server down 3 s mid-drain (lease 20 s): 400 quick jobs and 12 of 1.5 s"
marker1="$work/marker1"
: > "$marker1"
make_jobs p1 400 12 1.5 "$marker1" > "$work/jobs1.jsonl"
total1=$(wc -l < "$work/jobs1.jsonl")
before=$(workers_json | json_get "' '.join(sorted(f\"{w['id']}:{w['pid']}\" for w in d))")
q enqueue - < "$work/jobs1.jsonl" >/dev/null
wait_for 60 "2 workers on 1.5 s jobs" long_jobs_running 2
log_lines_before=$(wc -l < "$worker_log")
# The moment to stop: 2 workers or more on 1.5 s jobs (what they run is noted then).
phase1_ready() { workers_json > "$work/held1.json" && [ "$(held_long "$work/held1.json" | wc -w)" -ge 2 ]; }
held_long() { json_get "' '.join(sorted(w['job_id'] for w in d if '-long' in (w.get('job_id') or '')))" < "$1"; }
stop_server_when phase1_ready
held1=$(held_long "$work/held1.json")
say "server stopping; running then: $held1; workers: $before"

# A command during the outage: one line naming the server, exit 1, nothing on stdout.
t0=$(date +%s.%N)
set +e
timeout 30 "$bin" status --db "$addr" > "$work/cli.out" 2> "$work/cli.err"
cli_rc=$?
set -e
cli_seconds=$(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)")
say "status during the outage: exit $cli_rc in $cli_seconds s: $(head -c 300 "$work/cli.err")"
check "status during the outage exits 1" test "$cli_rc" = 1
check "status during the outage prints nothing on stdout" test ! -s "$work/cli.out"
check "status during the outage prints exactly one line on stderr" test "$(wc -l < "$work/cli.err")" = 1
check "that line names the server and the database" \
    grep -qE "^error: cannot reach PostgreSQL at 127\.0\.0\.1:$port/queuectl_test: " "$work/cli.err"

while [ "$(echo "$(date +%s.%N) - $down_at < 3" | bc)" = 1 ]; do sleep 0.1; done
start_server
up_at_line=$(wc -l < "$worker_log")
wait_for 60 "every phase-1 job completed" all_completed "$total1"
say "drain finished $(printf '%.1f' "$(echo "$(date +%s.%N) - $down_at" | bc)") s after the server went down"
audit p1 "$marker1" "$total1"
check "phase 1: all $total1 jobs there and completed" test "$(field jobs) $(field states)" = "$total1 completed=$total1"
check "phase 1: every id in the marker" test "$(field unmarked)" = "-"
check "phase 1: no stranger ids in the marker" test "$(field strangers)" = "-"
check "phase 1: every job ran once and marked once (the lease outlived the outage)" test "$(field again)" = "-"
for job in $(field again | sed 's/^-$//'); do say "  $job ran again: $(history_of "$job")"; done
# The jobs that ran across the outage: their runs ended while the server was down,
# and the worker recorded them once it was back.
kept() {
    local job line n=0
    for job in $held1; do
        line=$(q show "$job" --json | python3 -c "
import json, sys, datetime
job = json.load(sys.stdin)
runs = job['history']
end = runs[-1].get('finished_at') or ''
t = datetime.datetime.fromisoformat(end.replace('Z', '+00:00')).timestamp() if end else 0
during = $down_at <= t <= $up_at
print(job['state'], len(runs), runs[-1].get('outcome'), end, 'during' if during else 'outside')")
        say "  $job (running at the stop): $line"
        case "$line" in "completed 1 succeeded "*) ;; *) return 1 ;; esac
        case "$line" in *during) n=$((n + 1)) ;; esac
    done
    say "  $n of them ended while the server was down and were recorded after"
    [ "$n" -ge 1 ]
}
check "phase 1: jobs running at the stop ran once, and results from the outage were kept and recorded" kept
after=$(workers_json | json_get "' '.join(sorted(f\"{w['id']}:{w['pid']}\" for w in d))")
check "phase 1: the same 3 workers are registered ($after)" test "$after" = "$before"
alive=0
for pid in $(echo "$before" | tr ' ' '\n' | cut -d: -f2); do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
check "phase 1: the 3 worker processes are alive" test "$alive" = 3

# The log of the outage: errors naming the server, the backoff, then work again.
tail -n +"$((log_lines_before + 1))" "$worker_log" > "$work/log1"
say "worker log during phase 1: $(wc -l < "$work/log1") lines; errors $(grep -c 'cannot reach PostgreSQL' "$work/log1" || true); backoff steps: $(grep -oE 'retrying in [0-9.]+ s' "$work/log1" | sort -n -k3 | uniq -c | awk '{printf "%s×%s ", $1, $4}')"
check "phase 1: the log says the server cannot be reached, naming it" \
    grep -qE "cannot reach PostgreSQL at 127\.0\.0\.1:$port/queuectl_test" "$work/log1"
check "phase 1: the backoff doubles from 0.1 s (0.1, 0.2, 0.4 s seen)" \
    sh -c "grep -q 'retrying in 0.1 s' '$work/log1' && grep -q 'retrying in 0.2 s' '$work/log1' && grep -q 'retrying in 0.4 s' '$work/log1'"
check "phase 1: no backoff above 5 s" \
    sh -c "! grep -oE 'retrying in [0-9.]+ s' '$work/log1' | awk '\$3 > 5 {bad=1} END {exit !bad}'"
resumed() {
    local ok=0 id
    for id in $(echo "$before" | tr ' ' '\n' | cut -d: -f1); do
        # The worker's last error, then a job it finished after that.
        last_error=$(grep -n "$id" "$work/log1" | grep -E 'cannot reach|retrying' | tail -1 | cut -d: -f1)
        if [ -z "$last_error" ]; then say "  worker $id logged no error during the outage"; ok=1; continue; fi
        if ! tail -n +"$last_error" "$work/log1" | grep "$id" | grep -E '→ completed' >/dev/null; then
            say "  worker $id finished no job after its last error"; ok=1
        fi
    done
    return $ok
}
check "phase 1: each worker logged the outage, then finished jobs again" resumed
# A heartbeat failing through the outage is logged when it starts failing and when
# it lands again, not once per 0.25 s retry.
hb_fail=$(grep -c 'heartbeat: .*retrying every' "$work/log1" || true)
hb_back=$(grep -c 'heartbeat: recorded again after' "$work/log1" || true)
say "heartbeat lines during phase 1: $hb_fail failing, $hb_back recorded again; $(grep -c 'heartbeat:' "$work/log1" || true) in all"
check "phase 1: each worker's heartbeat logs its failure once and its return once" \
    sh -c "[ '$hb_fail' -ge 1 ] && [ '$hb_fail' -le 3 ] && [ '$hb_back' -ge 1 ] && [ \$(grep -c 'heartbeat:' '$work/log1') -le 9 ]"
no_exits() { ! grep -E "exited with status|was killed by signal|starting a replacement|registering again" "$1"; }
check "phase 1: no worker process exited or re-registered (supervisor log)" no_exits "$work/log1"
no_traces() { ! grep -iE "fatal error|stack dump|backtrace|Current stack trace|panic" "$@"; }
check "phase 1: no crash or stack trace in the log" no_traces "$work/log1"

# ---------------------------------------------------------------------------
say "phase 2: server down 8 s (lease 3 s) while 6 jobs of 2 s run; one worker comes back late"
q config set lease-timeout 3 >/dev/null
sleep 1   # each worker reads the lease at its next heartbeat (0.4 s apart at most)
marker2="$work/marker2"
: > "$marker2"
make_jobs p2 150 6 2 "$marker2" > "$work/jobs2.jsonl"
total2=$(wc -l < "$work/jobs2.jsonl")
wait_for_quiet_server
before2=$(workers_json | json_get "' '.join(sorted(f\"{w['id']}:{w['pid']}\" for w in d))")
log_lines_before=$(wc -l < "$worker_log")
q enqueue - < "$work/jobs2.jsonl" >/dev/null
wait_for 60 "3 workers on 2 s jobs" long_jobs_running 3
# The late worker: frozen (SIGSTOP, its job runs on) from the outage until the
# others have released it, as a worker whose host takes long to come back would be.
# It is frozen as soon as three long jobs run, before the server stops: stopping
# takes about a second, long enough for its job to end and the next to begin, and
# the job it runs is read again once it is frozen.
phase2_ready() {
    workers_json > "$work/held2.json" && [ "$(held_long "$work/held2.json" | wc -w)" -ge 3 ] || return 1
    [ "${late_frozen:-0}" = 1 ] && return 0
    read -r late_id late_pid < <(json_get "' '.join(next((w['id'], str(w['pid'])) for w in d if '-long' in (w.get('job_id') or '')))" < "$work/held2.json")
    kill -STOP "$late_pid"
    late_frozen=1
    workers_json > "$work/held2.json" || true
}
stop_server_when phase2_ready
held2=$(held_long "$work/held2.json")
late_job=$(json_get "next(w['job_id'] or '' for w in d if w['id'] == '$late_id')" < "$work/held2.json")
say "server stopping for 8 s; running then: $held2; $late_id (pid $late_pid, on $late_job) will come back late"
while [ "$(echo "$(date +%s.%N) - $down_at < 8" | bc)" = 1 ]; do sleep 0.2; done
start_server
# A command run the moment the server is back sweeps too. Every lease looks
# expired then (no heartbeat could land for 8 s), but the lease counts from the
# server's start: it releases no worker, neither the live ones nor the late one.
registered() {
    runuser -u postgres -- psql -p "$port" -d queuectl_test -qtA \
        -c "select count(*) from $schema.workers" 2>/dev/null || echo 0
}
for _ in 1 2 3; do q status >/dev/null 2>&1 || true; done
check "phase 2: commands run as the server came back released no worker" test "$(registered)" = 3
late_registered() {
    runuser -u postgres -- psql -p "$port" -d queuectl_test -qtA \
        -c "select count(*) from $schema.workers where id = '$late_id'" 2>/dev/null || echo 1
}
late_released() { [ "$(late_registered)" = 0 ]; }
wait_for 20 "the late worker released by the others" late_released
released_after=$(printf '%.1f' "$(echo "$(date +%s.%N) - $up_at" | bc)")
say "$late_id released $released_after s after the server came back; letting it go on"
kill -CONT "$late_pid"
late_frozen=0
wait_for 60 "every phase-2 job completed" all_completed "$((total1 + total2))"
say "drain finished $(printf '%.1f' "$(echo "$(date +%s.%N) - $down_at" | bc)") s after the server went down"
# The late worker finds itself released: it records nothing and registers again.
late_back() { grep -E "worker w-[a-z0-9]+ started \(pid $late_pid\)" "$worker_log" | grep -v "worker $late_id started" >/dev/null; }
wait_for 20 "the late worker registering again" late_back
sleep 1
audit p2 "$marker2" "$total2"
check "phase 2: all $total2 jobs there and completed" test "$(field jobs) $(field states)" = "$total2 completed=$total2"
check "phase 2: every id in the marker" test "$(field unmarked)" = "-"
check "phase 2: no stranger ids in the marker" test "$(field strangers)" = "-"
explained() {
    local ok=0 job runs marks story
    while read -r _ job runs marks; do
        story=$(history_of "$job")
        say "  $job: $runs runs, marked $marks time(s): $story"
        # Every run but the last interrupted by a lost worker, the last one succeeded,
        # and a mark for at most every run.
        if ! echo "$story" | python3 -c "
import sys
runs = sys.stdin.read().strip().split(' | ')
ok = runs[-1].startswith('succeeded') and all(r.startswith('interrupted:') and 'worker' in r for r in runs[:-1])
sys.exit(0 if ok and len(runs) == $runs and $marks <= len(runs) else 1)"; then
            say "  $job ran more than once without a history that says why"; ok=1
        fi
    done < <(grep '^counts ' "$work/audit")
    return $ok
}
check "phase 2: every job that ran again was interrupted by a lost lease first" explained
late_story=$(history_of "$late_job")
lost_then_rerun() { [[ $1 =~ ^interrupted:[^|]*worker\ lost[^|]*\ \|\ succeeded:$ ]]; }
check "phase 2: the late worker's job $late_job: its run interrupted (worker lost), then run again ($late_story)" \
    lost_then_rerun "$late_story"
tail -n +"$((log_lines_before + 1))" "$worker_log" > "$work/log2"
# Every job that ran again was named by a sweep that released its worker.
named_by_sweeps() {
    local job ok=0
    for job in $(field again | sed 's/^-$//'); do
        grep -E "released (worker .* \(presumed dead\)|[0-9]+ processing jobs? whose worker is gone)" "$work/log2" \
            | grep -E "job $job(,|$)|: ([^ ]+, )*$job(,|$)" >/dev/null || { say "  $job ran again, named by no sweep"; ok=1; }
    done
    return $ok
}
check "phase 2: only jobs of released workers ran again ($(field again))" named_by_sweeps
check "phase 2: the late worker discarded its run" \
    grep -qE "worker=$late_id .*(lease lost before the result was recorded; result discarded|abandoning current run|was released by recovery)" "$work/log2"
check "phase 2: the others' sweep said which run it interrupted" \
    grep -qE "worker=w-.*released worker $late_id \(presumed dead\): interrupted the run of job $late_job" "$work/log2"
# The workers that came back at once kept their leases: each gave the others a
# lease to come back before judging them (the outage was everyone's).
prompt_kept() {
    local job ok=0 story
    for job in $held2; do
        [ "$job" = "$late_job" ] && continue
        story=$(history_of "$job")
        say "  $job (a prompt worker's): $story"
        [ "$story" = "succeeded:" ] || ok=1
    done
    return $ok
}
check "phase 2: the workers that came back at once kept their leases (their jobs ran once)" prompt_kept
check "phase 2: and gave the late one about a lease (3 s) before releasing it (${released_after} s)" \
    test "$(echo "$released_after >= 2.5" | bc)" = 1
after2=$(workers_json | json_get "' '.join(sorted(f\"{w['id']}:{w['pid']}\" for w in d))")
say "workers before: $before2; after: $after2"
check "phase 2: 3 workers registered" test "$(echo "$after2" | wc -w)" = 3
pids_before=$(echo "$before2" | tr ' ' '\n' | cut -d: -f2 | sort | tr '\n' ' ')
pids_after=$(echo "$after2" | tr ' ' '\n' | cut -d: -f2 | sort | tr '\n' ' ')
check "phase 2: in the same 3 processes ($pids_after)" test "$pids_after" = "$pids_before"
exits() { ! grep -E "exited with status|was killed by signal|starting a replacement" "$1"; }
check "phase 2: no worker process exited (supervisor log)" exits "$work/log2"
say "worker log during phase 2: backoff steps: $(grep -oE 'retrying in [0-9.]+ s' "$work/log2" | sort -n -k3 | uniq -c | awk '{printf "%s×%s ", $1, $4}')"
check "phase 2: no backoff above 5 s" \
    sh -c "! grep -oE 'retrying in [0-9.]+ s' '$work/log2' | awk '\$3 > 5 {bad=1} END {exit !bad}'"
check "phase 2: no crash or stack trace in the log" no_traces "$work/log2"

[ "$failures" = 0 ] || fail "$failures check(s) failed"
say "ok: two outages survived, nothing lost"

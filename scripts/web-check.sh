#!/usr/bin/env bash
# Loads the web dashboard in headless Chromium against a scratch queue with a
# worker running, and checks what a person would see: the overview's counts equal
# `status --json`, a command holding <script> shows as text (and never runs), the
# dead job is listed in the DLQ with a Retry button. With --screenshots it also
# writes screenshots/web-{overview,job,dlq}.png.
#
#   scripts/web-check.sh [--screenshots]
#
# Needs Debian's chromium (apt-get install -y chromium) and a built queuectl
# (QUEUECTL_BINARY, default .build/debug/queuectl).
set -euo pipefail
cd "$(dirname "$0")/.."
q="${QUEUECTL_BINARY:-$PWD/.build/debug/queuectl}"
shots=false
[ "${1:-}" = "--screenshots" ] && shots=true
command -v chromium >/dev/null || { echo "error: chromium is not installed (apt-get install -y chromium)" >&2; exit 1; }

dir="$(mktemp -d)"
export QUEUECTL_DB="$dir/queue.db"
web=""
cleanup() {
    [ -n "$web" ] && kill "$web" 2>/dev/null && wait "$web" 2>/dev/null || true
    "$q" worker stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

"$q" enqueue '{"id":"xss","command":"echo \"<script>document.title=\\\"pwned\\\"</script>\"; exit 3","max_retries":0}' >/dev/null
"$q" enqueue '{"id":"hello","command":"echo hello"}' >/dev/null
"$q" enqueue '{"id":"slow","command":"sleep 30","priority":-1}' >/dev/null
"$q" enqueue '{"id":"later","command":"true","delay":3600}' >/dev/null
"$q" worker start --count 1 >/dev/null
for _ in $(seq 100); do
    [ "$("$q" show slow --json | grep -c '"processing"')" = 1 ] && [ "$("$q" show xss --json | grep -c '"dead"')" = 1 ] && break
    sleep 0.1
done

"$q" web --listen 127.0.0.1:0 > "$dir/web.out" 2>&1 &
web=$!
for _ in $(seq 100); do grep -q 'http://' "$dir/web.out" && break; sleep 0.05; done
base="$(grep -o 'http://[0-9.:]*' "$dir/web.out")"

dom() { chromium --headless --no-sandbox --disable-gpu --dump-dom "$base$1" 2>/dev/null; }
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

overview="$(dom /)"
status="$("$q" status --json)"
for state in pending processing completed dead scheduled; do
    n="$(printf '%s' "$status" | python3 -c "import json,sys; print(json.load(sys.stdin)['jobs']['$state'])")"
    check "overview shows $state = $n as status --json" "printf '%s' \"\$overview\" | grep -q 'data-state=\"$state\"><b>$n</b>'"
done
check "overview shows the busy worker's job" "printf '%s' \"\$overview\" | grep -q '>slow</a>'"
job="$(dom '/job?id=xss')"
check "a <script> in a command is shown as text" "printf '%s' \"\$job\" | grep -q '&lt;script&gt;document.title'"
check "and never runs" "! printf '%s' \"\$job\" | grep -q '<title>pwned'"
dlq="$(dom /dlq)"
check "the dead job is in the DLQ with a Retry button" "printf '%s' \"\$dlq\" | grep -q 'value=\"xss\"><button>Retry</button>'"

if $shots; then
    mkdir -p screenshots
    for page in "overview /" "job /job?id=xss" "dlq /dlq"; do
        set -- $page
        chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,700 \
            --screenshot="screenshots/web-$1.png" "$base$2" >/dev/null 2>&1
        echo "wrote screenshots/web-$1.png"
    done
fi
[ "$fail" = 0 ] && echo "web check passed" || { echo "web check FAILED"; exit 1; }

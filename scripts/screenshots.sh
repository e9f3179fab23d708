#!/usr/bin/env bash
# Regenerates screenshots/*.png from the real binary running `queuectl demo` in an
# xterm under Xvfb, driven with xdotool. Needs: xvfb xterm imagemagick xdotool
# fonts-dejavu-core (installed here when missing, on Debian/Ubuntu).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in Xvfb:xvfb xterm:xterm import:imagemagick xdotool:xdotool; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# SWIFT_SCRATCH picks the build folder (default .build), e.g. to keep off another build's lock.
scratch="${SWIFT_SCRATCH:-.build}"
swift build --scratch-path "$scratch" >/dev/null
bin="$PWD/$scratch/debug/queuectl"
out="$PWD/screenshots"
mkdir -p "$out"

display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1400x900x24 >/dev/null 2>&1 &
xvfb=$!
home=$(mktemp -d)
cleanup() {
    # The demo stops its workers when it quits; make sure, before its folder goes.
    for dbfile in "$home"/queuectl-demo-*/queue.db; do
        [ -f "$dbfile" ] && "$bin" --db "$dbfile" worker stop --timeout 10 >/dev/null 2>&1 || true
    done
    kill "$xvfb" 2>/dev/null || true
    rm -rf "$home"
}
trap cleanup EXIT
export DISPLAY="$display"
sleep 1

# The demo makes its own scratch queue; HOME/TMPDIR keep everything in $home.
TMPDIR="$home" HOME="$home" xterm -fa 'DejaVu Sans Mono' -fs 11 -bg black -fg grey90 -geometry 140x42 \
    -title queuectl -e "$bin" demo &
xterm_pid=$!
sleep 2
window=$(xdotool search --sync --name queuectl | head -1)

shot() { sleep "${2:-1}"; import -window "$window" "$out/$1.png"; echo "wrote screenshots/$1.png"; }
# Real key events (XTEST) to the focused xterm; xterm ignores synthetic ones.
keys() { xdotool key --delay 120 "$@"; }
xdotool windowfocus --sync "$window" 2>/dev/null || true

db() { ls -d "$home"/queuectl-demo-*/queue.db | head -1; }
count() { sqlite3 "$(db)" "$1" 2>/dev/null || echo 0; }
for _ in $(seq 1 80); do              # the slow jobs are running and have written output
    [ "$(count "select count(*) from jobs where id like 'report-%' and state = 'processing'")" -ge 3 ] && break
    sleep 0.5
done
sleep 3
keys 2                                # the Workers pane: the log tail follows the selected worker's job
shot overview 1                       # live workers, jobs in every state, a running job's output
for _ in $(seq 1 120); do             # some jobs have exhausted their retries
    [ "$(count "select count(*) from jobs where state = 'dead'")" -ge 4 ] && break
    sleep 0.5
done
keys 3; sleep 0.5; keys space space R
shot dlq-retry-prompt                 # two dead jobs marked, y/N prompt
keys y
shot dlq-retried                      # "2 jobs → pending"
keys 1 g
keys slash r e p o r t minus 1 Return
sleep 1; keys Return
shot job-detail 2                     # JSON fields, history, output
keys Escape; keys slash Escape; keys question
shot help
keys Escape q
for _ in $(seq 1 200); do              # the demo stops its workers, then the xterm closes
    kill -0 "$xterm_pid" 2>/dev/null || break
    sleep 0.1
done

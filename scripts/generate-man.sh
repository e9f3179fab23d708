#!/usr/bin/env bash
# Regenerates contrib/man/queuectl.1 from queuectl's own command definitions, with
# swift-argument-parser's GenerateManual plugin (`swift package generate-manual`),
# so the man page says what `--help` says. Run it after adding or changing a
# command, option or help text.
#
#   scripts/generate-man.sh           rewrite contrib/man/queuectl.1
#   scripts/generate-man.sh --check   exit 1 (and show the difference) when the
#                                     page in the repository is stale (.ci/run)
#
# The page keeps its date (.Dd) while its text is unchanged, so regenerating an
# up-to-date page changes nothing. SWIFT_SCRATCH picks the build folder (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."

page=contrib/man/queuectl.1
scratch="${SWIFT_SCRATCH:-.build}"
check=false
[ "${1:-}" = "--check" ] && check=true

# A debug build is enough: help texts are the same in every configuration.
swift package --scratch-path "$scratch" generate-manual --configuration debug >/dev/null
generated="$scratch/plugins/GenerateManual/outputs/queuectl/queuectl.1"

# mdoc has no blank lines: a blank line in a discussion becomes a paragraph break.
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
sed 's/^$/.Pp/' "$generated" > "$fresh"

body() { grep -v '^\.Dd ' "$1"; }

if [ -f "$page" ] && diff -q <(body "$page") <(body "$fresh") >/dev/null; then
    echo "$page is up to date"
    exit 0
fi
if $check; then
    echo "$page is stale; run scripts/generate-man.sh and commit the result:" >&2
    diff -u <(body "$page" 2>/dev/null || true) <(body "$fresh") >&2 || true
    exit 1
fi
mkdir -p "$(dirname "$page")"
cp "$fresh" "$page"
echo "wrote $page"

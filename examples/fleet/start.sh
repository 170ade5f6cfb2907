#!/usr/bin/env bash
# Starts N instances of examples/webapp on ports P..P+N-1 (127.0.0.1), each under a
# hypervisor with a control socket DIR/iK.sock and a patch journal DIR/iK.journal, and
# writes DIR/fleet (the targets, for `espell patch --fleet DIR/fleet`) and DIR/pids.
#
#   examples/fleet/start.sh [-n N] [-p PORT] [-d DIR] [-e ESPELL] [--only K]
#
# --only K (re)starts instance K alone (same port, socket and journal): it comes back at
# the state its journal recorded. Stop the fleet with: kill $(cat DIR/pids)
set -euo pipefail
n=3; port=8080; dir=fleet-run; espell=""; only=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) n="$2"; shift 2 ;;
        -p) port="$2"; shift 2 ;;
        -d) dir="$2"; shift 2 ;;
        -e) espell="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        *) echo "usage: $0 [-n N] [-p PORT] [-d DIR] [-e ESPELL] [--only K]" >&2; exit 2 ;;
    esac
done
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -z "$espell" ]; then
    espell="$(command -v espell || echo "$root/target/release/espell")"
fi
[ -x "$espell" ] || { echo "$0: no espell binary at $espell (cargo build --release)" >&2; exit 1; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if [ -z "$only" ]; then
    : > "$dir/fleet"
    : > "$dir/pids"
fi
for k in $(seq 0 $((n - 1))); do
    if [ -n "$only" ] && [ "$k" != "$only" ]; then continue; fi
    sock="$dir/i$k.sock"
    "$espell" run --journal "$dir/i$k.journal" --control "$sock" \
        -cp "$root/examples/webapp" WebApp --port $((port + k)) \
        > "$dir/i$k.out" 2> "$dir/i$k.log" &
    echo $! >> "$dir/pids"
    if [ -z "$only" ]; then echo "$sock" >> "$dir/fleet"; fi
    for _ in $(seq 1 100); do
        grep -q '^listening on' "$dir/i$k.out" 2>/dev/null && break
        sleep 0.1
    done
    if ! grep -q '^listening on' "$dir/i$k.out"; then
        echo "$0: instance $k did not start:" >&2
        cat "$dir/i$k.log" >&2
        exit 1
    fi
    echo "instance $k: $(cat "$dir/i$k.out"), control $sock, journal $dir/i$k.journal"
done
echo "targets in $dir/fleet; stop with: kill \$(cat $dir/pids)"

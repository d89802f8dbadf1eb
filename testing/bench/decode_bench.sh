#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Userspace-only microbenchmark: record a real event stream with EventsTrace
# --record during a short mixed workload (exec with a 10 KB argv, a file
# storm, tty writes, all at once), then decode + render it as NDJSON on one
# pinned CPU with decode_bench, the whole stream and its small records alone.
# Prints events/s per core against the 1.5 M/s target and writes RESULT lines
# to --results FILE.
# Usage: decode_bench.sh BUILD_DIR [--seconds N] [--record-seconds N] [--results FILE] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
seconds=5 record_seconds=3 results=/dev/null
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --record-seconds) record_seconds=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --no-doc) shift ;;
    *) echo "decode_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "decode_bench: needs root to record" >&2; exit 1; }
et=$build/non-GPL/EventsTrace/EventsTrace
b=$build/testing/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/work"

"$et" --process --file --tty --record "$tmp/stream.twr" --no-start-record > /dev/null 2> "$tmp/et.err" &
pid=$!
for _ in $(seq 600); do
  kill -0 $pid 2> /dev/null || { cat "$tmp/et.err" >&2; exit 1; }
  case $(cat /proc/$pid/wchan 2> /dev/null) in *epoll*) break ;; esac
  sleep 0.1
done
"$b/exec_loop" "$record_seconds" 10240 > /dev/null &
"$b/file_storm" "$record_seconds" "$tmp/work" > /dev/null &
"$b/tty_spam" "$record_seconds" > /dev/null &
wait %2 %3 %4
kill -INT $pid
wait $pid || true

# the decoder runs on the last CPU, away from CPU 0's interrupts where it can
cpu=$(( $(nproc) - 1 ))
for max in 0 1024; do
  line=$("$b/decode_bench" "$tmp/stream.twr" "$seconds" "$cpu" "$max")
  echo "$line"
  eps=$(echo "$line" | tr ' ' '\n' | awk -F= '$1 == "events_per_s" {print $2}')
  verdict=$(awk -v e="$eps" 'BEGIN {print (e >= 1500000 ? "PASS" : "FAIL")}')
  what="the whole stream"; [ "$max" -gt 0 ] && what="records up to $max bytes"
  echo "decode + NDJSON, $what: $eps events/s per core (target 1.5 M/s: $verdict)"
  echo "RESULT decode.$( [ "$max" -gt 0 ] && echo small || echo all) ${line#decode_bench }" >> "$results"
done

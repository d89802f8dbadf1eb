#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# EventsTrace under valgrind over a short real workload (process and network
# events, run-queue latency, a startup snapshot, stats, a clean SIGINT exit): no invalid access,
# no use of uninitialised memory, no definite leak. Needs root and valgrind.
# Usage: test_valgrind.sh EVENTSTRACE
set -u
ET=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$(id -u)" -ne 0 ] || ! command -v valgrind > /dev/null; then
  echo "SKIP: needs root and valgrind"; [ "${TW_REQUIRE_BPF:-0}" = 1 ] && exit 1; exit 0
fi
# --keep-capabilities: valgrind's own startup needs none, but dropping the
# bounding set under valgrind is not what is being tested here
valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
  --suppressions="$here/libbpf.supp" --log-file="$work/vg.log" \
  "$ET" --process --network --runqlat=1 --stats --keep-capabilities > "$work/out" 2> "$work/err" &
vp=$!
for i in $(seq 240); do grep -q STREAM_START "$work/out" 2> /dev/null && break; sleep 0.5; done
/bin/echo tw-valgrind-marker > /dev/null
{ exec 3<> /dev/tcp/127.0.0.1/9; } 2> /dev/null || true # refused: ATTEMPTED + CLOSED
sleep 1
kill -INT $vp
wait $vp; rc=$?
fail=0
grep -q tw-valgrind-marker "$work/out" || { echo "FAIL: the workload's exec was not traced"; fail=1; }
grep -q NETWORK_CONNECTION_CLOSED "$work/out" || { echo "FAIL: no network event traced"; fail=1; }
grep -q "stats (final)" "$work/err" || { echo "FAIL: no final stats"; fail=1; }
grep -q '"event_type":"SCHED_RUNQ"' "$work/out" || { echo "FAIL: no run-queue latency record"; fail=1; }
if [ "$rc" -ne 0 ]; then
  echo "FAIL: valgrind or EventsTrace exited $rc"; fail=1
  grep -A 20 -E "Invalid|uninitialised|definitely lost in" "$work/vg.log" | head -60
fi
grep -E "ERROR SUMMARY|definitely lost" "$work/vg.log"
[ $fail -eq 0 ] && echo "PASS: valgrind-clean ($(grep -c . "$work/out") lines traced)"
exit $fail

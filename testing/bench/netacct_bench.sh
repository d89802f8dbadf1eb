#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cost of per-process network accounting (GPL/probes/netacct.bpf.c), as
# ratios taken in one run. Each load runs in three modes in alternating
# rounds (none floor netacct none floor netacct ...), so all modes see the
# same machine:
#   none     no programs
#   floor    netacct_floor: do-nothing programs on the same hooks (the
#            kernel's price for calling BPF there at all)
#   netacct  EventsTrace --net-bandwidth (accounting only, no events)
# Loads (netacct_load, loopback, client and server are two processes):
#   rr   TCP request/response 50 bytes (round trips/s): per-packet worst case
#   uni  TCP 50-byte writes (writes/s), bulk TCP 64 KiB writes (MB/s),
#   udp  UDP 50-byte datagrams (datagrams/s)
# The load runs on CPU 0, the agent on CPU 1 (when there are two).
# kernel.bpf_stats_enabled is on in every mode (same cost for all) to read
# the accounting programs' run time: ns per packet (cgroup_skb) and per
# call (send/recv tracepoints). Agent CPU is the agent's own user+system
# time (the programs' time is charged to the load). Map memory is the
# kernel's memlock figure for the accounting maps, printed by the agent.
# Prints the table and PASS/FAIL against the 3 % goal (exit 0 either way);
# appends the figures to docs/benchmarks.md unless --no-doc.
# Usage: netacct_bench.sh BUILD_DIR [--seconds N] [--rounds N] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
seconds=3 rounds=3 doc=1
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    *) echo "netacct_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "netacct_bench: needs root to load the probes" >&2; exit 1; }
command -v bpftool > /dev/null || { echo "netacct_bench: bpftool is missing" >&2; exit 1; }
et=$build/non-GPL/EventsTrace/EventsTrace
floor=$build/testing/bench/netacct_floor
load=$build/testing/bench/netacct_load
here=$(cd "$(dirname "$0")" && pwd)
goal_loss=3
modes="none floor netacct"
loads="rr uni bulk udp"
tmp=$(mktemp -d)
holder=
stats_old=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
cleanup() {
  [ -n "$holder" ] && kill -INT "$holder" 2> /dev/null && wait "$holder" 2> /dev/null
  sysctl -qw kernel.bpf_stats_enabled="$stats_old" 2> /dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1
hz=$(getconf CLK_TCK)
load_cpu=0 agent_cpu=0
[ "$(nproc)" -gt 1 ] && agent_cpu=1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_time_ns and run_cnt summed over the programs whose name matches $1
prog_stats() {
  bpftool prog show -j | tr '}' '\n' | grep "\"name\":\"$1" |
    sed -n 's/.*"run_time_ns":\([0-9]*\).*"run_cnt":\([0-9]*\).*/\1 \2/p' |
    awk '{t += $1; c += $2} END {printf "%d %d\n", t, c}'
}

start_mode() {
  case $1 in
    none) holder= ;;
    floor)
      taskset -c $agent_cpu "$floor" > "$tmp/floor.out" &
      holder=$!
      for _ in $(seq 100); do grep -q attached "$tmp/floor.out" 2> /dev/null && break; sleep 0.05; done ;;
    netacct)
      taskset -c $agent_cpu "$et" --net-bandwidth 3600 > "$tmp/agent.out" 2> "$tmp/agent.err" &
      holder=$!
      for _ in $(seq 200); do [ -s "$tmp/agent.out" ] && break; sleep 0.05; done ;;
  esac
}

stop_mode() {
  [ -z "$holder" ] && return 0
  kill -INT "$holder" 2> /dev/null || true
  wait "$holder" 2> /dev/null || true
  holder=
}

for r in $(seq "$rounds"); do
  for l in $loads; do
    for m in $modes; do
      start_mode "$m"
      [ "$m" = netacct ] && t0=$(cpu_ticks "$holder")
      rate=$(taskset -c $load_cpu "$load" "$l" "$seconds")
      if [ "$m" = netacct ]; then
        t1=$(cpu_ticks "$holder")
        echo "$l $(prog_stats tw_na_egress) $(prog_stats tw_na_ingress) $(prog_stats tw_na_send) $(prog_stats tw_na_recv) $((t1 - t0))" >> "$tmp/progs"
      fi
      [ "$m" = floor ] && echo "$l $(prog_stats tw_naf_egress) $(prog_stats tw_naf_ingress) $(prog_stats tw_naf_send) $(prog_stats tw_naf_recv)" >> "$tmp/floorprogs"
      stop_mode
      [ "$m" = netacct ] && grep -o 'maps [0-9]* KiB' "$tmp/agent.err" | awk '{print $2}' >> "$tmp/mapkib"
      echo "$r $l $m $rate" >> "$tmp/rates"
    done
  done
done

median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

table=$tmp/table
{
  printf "| load | none | floor | netacct | floor/none | netacct/none | egress ns/pkt | ingress ns/pkt | send+recv ns/call | programs' share of the load CPU | empty programs' share | agent CPU ms/s |\n"
  printf "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
} > "$table"
verdict=PASS estimate_verdict=PASS own_verdict=PASS
for l in $loads; do
  declare -A med
  for m in $modes; do
    med[$m]=$(awk -v l="$l" -v m="$m" '$2 == l && $3 == m {print $4}' "$tmp/rates" | median)
  done
  # per-round ratios, then their median: each round's modes ran back to back
  rf=$(awk -v l="$l" '$2 == l {v[$1 " " $3] = $4; r[$1]} END {for (k in r) print v[k " floor"] / v[k " none"]}' "$tmp/rates" | median)
  rn=$(awk -v l="$l" '$2 == l {v[$1 " " $3] = $4; r[$1]} END {for (k in r) print v[k " netacct"] / v[k " none"]}' "$tmp/rates" | median)
  # the programs' run time over the load's wall time: the load runs on one CPU, so this
  # share is the throughput it loses to accounting (an estimate that noise does not blur)
  read -r eg ing sr share cpu < <(awk -v l="$l" -v hz="$hz" -v s="$seconds" '$1 == l {
      et += $2; ec += $3; it += $4; ic += $5; st += $6 + $8; sc += $7 + $9; cpu += $10; n++ }
    END { printf "%.0f %.0f %.0f %.2f%% %.1f\n", ec ? et / ec : 0, ic ? it / ic : 0, sc ? st / sc : 0,
          n ? (et + it + st) * 100 / (n * s * 1e9) : 0, n ? cpu * 1000 / hz / (n * s) : 0 }' "$tmp/progs")
  # the same share for the empty programs: what merely calling BPF there costs (with the
  # run-time accounting of bpf_stats_enabled itself); the difference is the accounting's work
  fshare=$(awk -v l="$l" -v s="$seconds" '$1 == l { t += $2 + $4 + $6 + $8; n++ }
    END { printf "%.2f%%", n ? t * 100 / (n * s * 1e9) : 0 }' "$tmp/floorprogs")
  printf "| %s | %s | %s | %s | %.4f | %.4f | %s | %s | %s | %s | %s | %s |\n" "$l" "${med[none]}" "${med[floor]}" \
    "${med[netacct]}" "$rf" "$rn" "$eg" "$ing" "$sr" "$share" "$fshare" "$cpu" >> "$table"
  echo "$l netacct/none ratio $rn (floor/none $rf), programs' CPU share $share (empty programs $fshare)"
  awk -v r="$rn" -v g="$goal_loss" 'BEGIN {exit !(r < 1 - g / 100)}' && verdict=FAIL
  awk -v s="${share%\%}" -v g="$goal_loss" 'BEGIN {exit !(s > g)}' && estimate_verdict=FAIL
  # the accounting's own work: its programs' share minus what empty programs cost there
  awk -v s="${share%\%}" -v f="${fshare%\%}" -v g="$goal_loss" 'BEGIN {exit !(s - f > g)}' &&
    own_verdict=FAIL
done
mapkib=$(sort -g "$tmp/mapkib" | tail -1)
# the same run-time reading for the empty programs: what calling a program costs here at all
floor_ns=$(awk '{et += $2; ec += $3; it += $4; ic += $5; st += $6 + $8; sc += $7 + $9}
  END {printf "egress %.0f, ingress %.0f, send/recv %.0f ns", ec ? et / ec : 0, ic ? it / ic : 0, sc ? st / sc : 0}' "$tmp/floorprogs")
cat "$table"
echo "accounting map memory: ${mapkib:-?} KiB (max over runs)"
echo "empty programs on the same hooks: $floor_ns per run"
echo "goal: at most $goal_loss % throughput loss: measured ratios $verdict, programs' CPU share $estimate_verdict, their share above the empty programs' $own_verdict"

if [ "$doc" = 1 ]; then
  doc_file=$here/../../docs/benchmarks.md
  {
    echo
    echo "### Per-process network accounting: run of $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "\`testing/bench/netacct_bench.sh\`, $rounds rounds of $seconds s per load and mode, kernel $(uname -r), $(nproc) CPUs. Rates: medians; ratios: medians of per-round ratios. Units: rr round trips/s, uni writes/s, bulk MB/s, udp datagrams/s."
    echo
    cat "$table"
    echo
    echo "Accounting map memory: ${mapkib:-?} KiB. Empty programs on the same hooks, same reading: $floor_ns per run. Goal ≤ $goal_loss % throughput loss: measured ratios $verdict, programs' CPU share (the estimate) $estimate_verdict, their share above the empty programs' (the accounting's own work) $own_verdict."
  } >> "$doc_file"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Exec benchmark: fork+exec of /bin/true with a 10 KB argv in a tight loop,
# without and with EventsTrace (process events, output to /dev/null),
# alternating rounds so both see the same machine. Prints the workload
# ratio, events, drops, agent CPU and RSS, and the BPF programs' own cost;
# appends the figures to docs/benchmarks.md unless --no-doc.
# Usage: exec_bench.sh BUILD_DIR [--seconds N] [--rounds N] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd); shift
seconds=30 rounds=3 doc=1
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    *) echo "exec_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "exec_bench: needs root to load the probes" >&2; exit 1; }
et=$build/non-GPL/EventsTrace/EventsTrace
loop=$build/testing/bench/exec_loop
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)

bpf_stats_old=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2> /dev/null || true

base_total=0 traced_total=0 base_time=0 traced_time=0
events=0 lost=0 agent_ticks=0 rss_kb=0
declare -A bpf_ns=([exec]=0 [fork]=0 [exit]=0) bpf_cnt=([exec]=0 [fork]=0 [exit]=0)
for r in $(seq "$rounds"); do
  read -r n t < <("$loop" "$seconds" 10240)
  base_total=$((base_total + n)); base_time=$(echo "$base_time + $t" | bc -l)

  "$et" --process --no-start-record --stats-json > /dev/null 2> "$tmp/stats" &
  pid=$!
  sleep 1 # attached
  read -r n t < <("$loop" "$seconds" 10240)
  traced_total=$((traced_total + n)); traced_time=$(echo "$traced_time + $t" | bc -l)
  # agent CPU (user+sys ticks) and peak RSS, read before it exits
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  agent_ticks=$((agent_ticks + ticks))
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  [ "$hwm" -gt "$rss_kb" ] && rss_kb=$hwm
  # time spent inside the BPF programs themselves (kernel.bpf_stats_enabled)
  for p in exec fork exit; do
    read -r ns cnt < <(bpftool prog show name "tw_process_$p" 2> /dev/null |
                       grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' | awk '{print $2, $4}') || true
    bpf_ns[$p]=$((bpf_ns[$p] + ${ns:-0})); bpf_cnt[$p]=$((bpf_cnt[$p] + ${cnt:-0}))
  done
  kill -INT $pid; wait $pid
  final=$(grep '"final":true' "$tmp/stats")
  e=$(echo "$final" | grep -o '"PROCESS_EXEC":{"emitted":[0-9]*' | grep -o '[0-9]*$')
  l=$(echo "$final" | grep -o '"lost_total":[0-9]*' | grep -o '[0-9]*$')
  events=$((events + e)); lost=$((lost + l))
done
sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_old" 2> /dev/null || true

base_rate=$(echo "$base_total / $base_time" | bc -l)
traced_rate=$(echo "$traced_total / $traced_time" | bc -l)
ratio=$(echo "$traced_rate / $base_rate" | bc -l)
agent_cpu_pct=$(echo "100 * $agent_ticks / $hz / $traced_time" | bc -l)
per_run() { [ "${bpf_cnt[$1]}" -gt 0 ] && echo "${bpf_ns[$1]} / ${bpf_cnt[$1]}" | bc || echo 0; }
bpf_line="exec $(per_run exec) ns, fork $(per_run fork) ns, exit $(per_run exit) ns per run"

printf 'exec benchmark: %s rounds x %ss, 10 KB argv, %s CPUs, kernel %s\n' "$rounds" "$seconds" "$(nproc)" "$(uname -r)"
printf '  baseline      %8.0f execs/s\n' "$base_rate"
printf '  with agent    %8.0f execs/s\n' "$traced_rate"
printf '  workload ratio %.3f (traced/baseline)\n' "$ratio"
printf '  exec events   %s emitted host-wide, %s lost (workload: %s execs)\n' "$events" "$lost" "$traced_total"
printf '  agent CPU     %.1f %% of one CPU, peak RSS %s KiB\n' "$agent_cpu_pct" "$rss_kb"
echo "  BPF programs  $bpf_line"

if [ "$doc" -eq 1 ]; then
  root=$(cd "$(dirname "$0")/../.." && pwd)
  {
    echo
    echo "### exec benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r)"
    echo
    echo "$rounds alternating rounds of ${seconds}s, fork+exec of /bin/true with a 10 KB argv."
    echo
    echo "| measure | value |"
    echo "|---|---|"
    printf '| baseline | %.0f execs/s |\n' "$base_rate"
    printf '| with EventsTrace (process events) | %.0f execs/s |\n' "$traced_rate"
    printf '| workload ratio (traced/baseline) | %.3f |\n' "$ratio"
    printf '| exec events emitted host-wide / lost | %s / %s (workload: %s execs) |\n' "$events" "$lost" "$traced_total"
    printf '| agent CPU | %.1f %% of one CPU |\n' "$agent_cpu_pct"
    printf '| agent peak RSS | %s KiB |\n' "$rss_kb"
    echo "| BPF run time (kernel.bpf_stats_enabled) | $bpf_line |"
  } >> "$root/docs/benchmarks.md"
  echo "figures appended to docs/benchmarks.md"
fi

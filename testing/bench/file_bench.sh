#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# File benchmark: create (open O_CREAT) + close + unlink of distinct files in
# a tight loop, without and with EventsTrace (file events, output to
# /dev/null), alternating rounds so both see the same machine. Prints the
# workload ratio, events, drops, agent CPU and RSS, and the BPF programs' own
# cost; appends the figures to docs/benchmarks.md unless --no-doc.
# Usage: file_bench.sh BUILD_DIR [--seconds N] [--rounds N] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd); shift
seconds=30 rounds=3 doc=1
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    *) echo "file_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "file_bench: needs root to load the probes" >&2; exit 1; }
et=$build/non-GPL/EventsTrace/EventsTrace
storm=$build/testing/bench/file_storm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/work"
hz=$(getconf CLK_TCK)

# every file event type; an EventsTrace without file flags traces everything
if "$et" --help 2>&1 | grep -q -- '--file '; then et_flags=--file; else et_flags=--all; fi

# another tracer's file probes make the baseline a traced run too: say so
others=$(bpftool prog show 2> /dev/null | grep -c ' name tw_file_sys_enter ' || true)
if [ "${others:-0}" -gt 0 ]; then
  echo "file_bench: note: $others tracewire file probe(s) of other agents are loaded; the baseline is not untraced" >&2
fi

bpf_stats_old=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2> /dev/null || true

# BPF programs the agent holds, from its fds (other tracers may load the same names)
agent_prog_ids() {
  grep -hs '^prog_id:' /proc/"$1"/fdinfo/* | awk '{print $2}' | sort -un
}

base_total=0 traced_total=0 base_time=0 traced_time=0
events=0 lost=0 agent_ticks=0 rss_kb=0
declare -A bpf_ns=([enter]=0 [exit]=0) bpf_cnt=([enter]=0 [exit]=0)
for r in $(seq "$rounds"); do
  read -r n t < <("$storm" "$seconds" "$tmp/work")
  base_total=$((base_total + n)); base_time=$(echo "$base_time + $t" | bc -l)

  "$et" $et_flags --no-start-record --stats-json > /dev/null 2> "$tmp/stats" &
  pid=$!
  # under load, loading and attaching ~100 tracepoints takes seconds: a fixed
  # sleep is not enough. The agent sleeps in epoll_wait only once attached.
  attached=0
  for i in $(seq 600); do
    kill -0 $pid 2> /dev/null || break
    case $(cat /proc/$pid/wchan 2> /dev/null) in *epoll*) attached=1; break ;; esac
    sleep 0.1
  done
  [ "$attached" -eq 1 ] || { echo "file_bench: EventsTrace did not attach:" >&2; cat "$tmp/stats" >&2; exit 1; }
  read -r n t < <("$storm" "$seconds" "$tmp/work")
  traced_total=$((traced_total + n)); traced_time=$(echo "$traced_time + $t" | bc -l)
  # agent CPU (user+sys ticks) and peak RSS, read before it exits
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  agent_ticks=$((agent_ticks + ticks))
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  [ "$hwm" -gt "$rss_kb" ] && rss_kb=$hwm
  # time spent inside the BPF programs themselves (kernel.bpf_stats_enabled)
  ids=$(agent_prog_ids "$pid")
  for id in $ids; do
    line=$(bpftool prog show id "$id" 2> /dev/null) || continue
    line=${line%%$'\n'*}
    case $line in
      *" name tw_file_sys_enter "*) p=enter ;;
      *" name tw_file_sys_exit "*) p=exit ;;
      *) continue ;;
    esac
    read -r ns cnt < <(echo "$line" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' |
                       awk '{print $2, $4}') || true
    bpf_ns[$p]=$((bpf_ns[$p] + ${ns:-0})); bpf_cnt[$p]=$((bpf_cnt[$p] + ${cnt:-0}))
  done
  kill -INT $pid; wait $pid
  # EventsTrace leaves the (slow) detach to a background child: the next
  # baseline must not run while its probes are still attached
  for i in $(seq 600); do
    left=0
    for id in $ids; do bpftool prog show id "$id" > /dev/null 2>&1 && left=1; done
    [ "$left" -eq 0 ] && break
    sleep 0.2
  done
  final=$(grep '"final":true' "$tmp/stats")
  for ty in FILE_CREATE FILE_DELETE FILE_RENAME FILE_MODIFY FILE_SHMEM_OPEN; do
    e=$(echo "$final" | grep -o "\"$ty\":{\"emitted\":[0-9]*" | grep -o '[0-9]*$' || true)
    events=$((events + ${e:-0}))
  done
  l=$(echo "$final" | grep -o '"lost_total":[0-9]*' | grep -o '[0-9]*$')
  lost=$((lost + l))
done
sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_old" 2> /dev/null || true

base_rate=$(echo "$base_total / $base_time" | bc -l)
traced_rate=$(echo "$traced_total / $traced_time" | bc -l)
ratio=$(echo "$traced_rate / $base_rate" | bc -l)
agent_cpu_pct=$(echo "100 * $agent_ticks / $hz / $traced_time" | bc -l)
per_run() { [ "${bpf_cnt[$1]}" -gt 0 ] && echo "${bpf_ns[$1]} / ${bpf_cnt[$1]}" | bc || echo 0; }
bpf_line="sys_enter $(per_run enter) ns (${bpf_cnt[enter]} runs), sys_exit $(per_run exit) ns (${bpf_cnt[exit]} runs) per run"

printf 'file benchmark: %s rounds x %ss, create+close+unlink, %s CPUs, kernel %s, EventsTrace %s\n' \
  "$rounds" "$seconds" "$(nproc)" "$(uname -r)" "$et_flags"
printf '  baseline      %8.0f pairs/s\n' "$base_rate"
printf '  with agent    %8.0f pairs/s\n' "$traced_rate"
printf '  workload ratio %.3f (traced/baseline)\n' "$ratio"
printf '  file events   %s emitted host-wide, %s lost (workload: %s pairs, %s events)\n' \
  "$events" "$lost" "$traced_total" "$((2 * traced_total))"
printf '  agent CPU     %.1f %% of one CPU, peak RSS %s KiB\n' "$agent_cpu_pct" "$rss_kb"
echo "  BPF programs  $bpf_line"
if [ "${others:-0}" -gt 0 ]; then
  echo "  note          $others file probe(s) of other agents were loaded during the run"
fi

if [ "$doc" -eq 1 ]; then
  root=$(cd "$(dirname "$0")/../.." && pwd)
  {
    echo
    echo "### file benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r)"
    echo
    echo "$rounds alternating rounds of ${seconds}s, open(O_CREAT)+close+unlink of distinct files in a directory under /tmp."
    echo
    echo "| measure | value |"
    echo "|---|---|"
    printf '| baseline | %.0f pairs/s |\n' "$base_rate"
    printf '| with EventsTrace (%s) | %.0f pairs/s |\n' "$et_flags" "$traced_rate"
    printf '| workload ratio (traced/baseline) | %.3f |\n' "$ratio"
    printf '| file events emitted host-wide / lost | %s / %s (workload: %s pairs, %s events) |\n' \
      "$events" "$lost" "$traced_total" "$((2 * traced_total))"
    printf '| agent CPU | %.1f %% of one CPU |\n' "$agent_cpu_pct"
    printf '| agent peak RSS | %s KiB |\n' "$rss_kb"
    echo "| BPF run time (kernel.bpf_stats_enabled) | $bpf_line |"
    if [ "${others:-0}" -gt 0 ]; then
      echo "| note | $others file probe(s) of other agents were loaded: the baseline was traced too |"
    fi
  } >> "$root/docs/benchmarks.md"
  echo "figures appended to docs/benchmarks.md"
fi

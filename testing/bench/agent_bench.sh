#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Overhead of EventsTrace on a workload, as ratios taken in one run:
# alternating rounds without and with the agent (output to /dev/null), so
# both see the same machine. Prints the workload ratio, events, drops, agent
# CPU and peak RSS, and the BPF programs' own run time; appends the figures
# to docs/benchmarks.md unless --no-doc.
# Usage: agent_bench.sh BUILD_DIR exec|file|tty [--seconds N] [--rounds N] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd)
workload=$2
shift 2
seconds=30 rounds=3 doc=1
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    *) echo "agent_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "agent_bench: needs root to load the probes" >&2; exit 1; }
et=$build/non-GPL/EventsTrace/EventsTrace
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/work"
hz=$(getconf CLK_TCK)

# each workload prints "<operations> <seconds>"
case $workload in
  exec)
    run_workload() { "$build/testing/bench/exec_loop" "$seconds" 10240; }
    what="fork+exec of /bin/true with a 10 KB argv"; unit="execs/s"
    et_flags=--process; types="PROCESS_EXEC PROCESS_FORK PROCESS_EXIT"
    progs="tw_process_exec tw_process_fork tw_process_exit" ;;
  file)
    run_workload() { "$build/testing/bench/file_storm" "$seconds" "$tmp/work"; }
    what="open(O_CREAT)+close+unlink of distinct files under /tmp"; unit="pairs/s"
    et_flags=--file; types="FILE_CREATE FILE_DELETE FILE_RENAME FILE_MODIFY FILE_SHMEM_OPEN"
    progs="tw_file_sys_enter tw_file_sys_exit" ;;
  tty)
    run_workload() { "$build/testing/bench/tty_spam" "$seconds"; }
    what="64 KiB writes to a pty slave, master drained"; unit="writes/s"
    et_flags=--tty; types="PROCESS_TTY_WRITE"
    progs="tw_tty_sys_enter tw_tty_sys_exit" ;;
  *) echo "agent_bench: unknown workload $workload (exec, file, tty)" >&2; exit 2 ;;
esac

# another agent's probes make the baseline a traced run too: say so
others=0
for p in $progs; do
  others=$((others + $(bpftool prog show 2> /dev/null | grep -c " name $p " || true)))
done
[ "$others" -gt 0 ] && echo "agent_bench: note: $others probe(s) of other agents are loaded; the baseline is not untraced" >&2

bpf_stats_old=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2> /dev/null || true

# BPF programs this agent holds, from its fds (other tracers may load the same names)
agent_prog_ids() { grep -hs '^prog_id:' /proc/"$1"/fdinfo/* | awk '{print $2}' | sort -un; }

base_total=0 traced_total=0 base_time=0 traced_time=0
events=0 lost=0 agent_ticks=0 rss_kb=0
declare -A bpf_ns bpf_cnt
for p in $progs; do bpf_ns[$p]=0; bpf_cnt[$p]=0; done
for r in $(seq "$rounds"); do
  read -r n t < <(run_workload)
  base_total=$((base_total + n)); base_time=$(echo "$base_time + $t" | bc -l)

  "$et" $et_flags --no-start-record --stats-json > /dev/null 2> "$tmp/stats" &
  pid=$!
  # under load, attaching ~100 tracepoints takes a while: the agent sleeps in
  # epoll_wait only once attached
  attached=0
  for i in $(seq 600); do
    kill -0 $pid 2> /dev/null || break
    case $(cat /proc/$pid/wchan 2> /dev/null) in *epoll*) attached=1; break ;; esac
    sleep 0.1
  done
  [ "$attached" -eq 1 ] || { echo "agent_bench: EventsTrace did not attach:" >&2; cat "$tmp/stats" >&2; exit 1; }
  read -r n t < <(run_workload)
  traced_total=$((traced_total + n)); traced_time=$(echo "$traced_time + $t" | bc -l)
  # agent CPU (user+sys ticks) and peak RSS, read before it exits
  agent_ticks=$((agent_ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  [ "$hwm" -gt "$rss_kb" ] && rss_kb=$hwm
  # time inside the BPF programs themselves (kernel.bpf_stats_enabled)
  ids=$(agent_prog_ids "$pid")
  for id in $ids; do
    line=$(bpftool prog show id "$id" 2> /dev/null) || continue
    line=${line%%$'\n'*}
    for p in $progs; do
      case $line in *" name $p "*)
        read -r ns cnt < <(echo "$line" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' |
                           awk '{print $2, $4}') || true
        bpf_ns[$p]=$((bpf_ns[$p] + ${ns:-0})); bpf_cnt[$p]=$((bpf_cnt[$p] + ${cnt:-0})) ;;
      esac
    done
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
  for ty in $types; do
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
bpf_line=""
for p in $progs; do
  per=0
  [ "${bpf_cnt[$p]}" -gt 0 ] && per=$(echo "${bpf_ns[$p]} / ${bpf_cnt[$p]}" | bc)
  bpf_line="$bpf_line${bpf_line:+, }$p $per ns (${bpf_cnt[$p]} runs)"
done

printf '%s benchmark: %s rounds x %ss, %s, %s CPUs, kernel %s, EventsTrace %s\n' \
  "$workload" "$rounds" "$seconds" "$what" "$(nproc)" "$(uname -r)" "$et_flags"
printf '  baseline      %10.0f %s\n' "$base_rate" "$unit"
printf '  with agent    %10.0f %s\n' "$traced_rate" "$unit"
printf '  workload ratio %.3f (traced/baseline)\n' "$ratio"
printf '  events        %s emitted host-wide, %s lost (workload: %s operations)\n' "$events" "$lost" "$traced_total"
printf '  agent CPU     %.1f %% of one CPU, peak RSS %s KiB\n' "$agent_cpu_pct" "$rss_kb"
echo "  BPF programs  $bpf_line"

if [ "$doc" -eq 1 ]; then
  root=$(cd "$(dirname "$0")/../.." && pwd)
  {
    echo
    echo "### $workload benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r)"
    echo
    echo "$rounds alternating rounds of ${seconds}s: $what; agent: EventsTrace $et_flags."
    echo
    echo "| measure | value |"
    echo "|---|---|"
    printf '| baseline | %.0f %s |\n' "$base_rate" "$unit"
    printf '| with EventsTrace | %.0f %s |\n' "$traced_rate" "$unit"
    printf '| workload ratio (traced/baseline) | %.3f |\n' "$ratio"
    printf '| events emitted host-wide / lost | %s / %s (workload: %s operations) |\n' "$events" "$lost" "$traced_total"
    printf '| agent CPU | %.1f %% of one CPU |\n' "$agent_cpu_pct"
    printf '| agent peak RSS | %s KiB |\n' "$rss_kb"
    echo "| BPF run time per program run | $bpf_line |"
    [ "$others" -gt 0 ] && echo "| note | $others probe(s) of other agents were loaded: the baseline was traced too |"
  } >> "$root/docs/benchmarks.md"
  echo "figures appended to docs/benchmarks.md"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The exec, file and tty workloads in the four configurations of issue 9,
# alternated round by round (A B C D A B C D ...) so all see the same machine:
#   none       no BPF program on the hooks
#   floor      empty programs on the same hooks (floor_agent)
#   tracewire  EventsTrace with the workload's event types, NDJSON to /dev/null
#   bpftrace   Debian's bpftrace printing the equivalent fields as JSON lines
#              (exec and file: bpftrace/exec.bt, bpftrace/file.bt; tty has no
#              peer: bpftrace cannot tell a tty fd nor copy 8 KiB per write)
# Prints a table and writes RESULT lines to --results FILE (run_all.sh turns
# them into docs/benchmarks.md; --no-doc is accepted for symmetry).
# Usage: floor_bench.sh BUILD_DIR exec|file|tty [--seconds N] [--rounds N] [--results FILE] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd)
workload=$2
shift 2
seconds=10 rounds=3 results=/dev/null
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --no-doc) shift ;;
    *) echo "floor_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "floor_bench: needs root to load programs" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bpftrace/run_peer.sh"
et=$build/non-GPL/EventsTrace/EventsTrace
floor=$build/testing/bench/floor_agent
tmp=$(mktemp -d)
trap 'bt_kill; [ "${pid:-0}" -gt 0 ] && kill -INT "$pid" 2> /dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/work"
hz=$(getconf CLK_TCK)

# each workload prints "<operations> <seconds>"
case $workload in
  exec)
    run_workload() { "$build/testing/bench/exec_loop" "$seconds" 10240; }
    unit="execs/s"; et_flags=--process; types="PROCESS_EXEC PROCESS_FORK PROCESS_EXIT"
    bt_script=$here/bpftrace/exec.bt ;;
  file)
    run_workload() { "$build/testing/bench/file_storm" "$seconds" "$tmp/work"; }
    unit="pairs/s"; et_flags=--file; types="FILE_CREATE FILE_DELETE FILE_RENAME FILE_MODIFY FILE_SHMEM_OPEN"
    bt_script=$here/bpftrace/file.bt ;;
  tty)
    run_workload() { "$build/testing/bench/tty_spam" "$seconds"; }
    unit="writes/s"; et_flags=--tty; types="PROCESS_TTY_WRITE"; bt_script= ;;
  *) echo "floor_bench: unknown workload $workload (exec, file, tty)" >&2; exit 2 ;;
esac
configs="none floor tracewire"
[ -n "$bt_script" ] && bt_available && configs="$configs bpftrace"

bpf_stats_old=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2> /dev/null || true

prog_ids() { grep -hs '^prog_id:' /proc/"$1"/fdinfo/* | awk '{print $2}' | sort -un; }
memlock_kb() { cat /proc/"$1"/fdinfo/* 2> /dev/null | awk '/^memlock:/ {s += $2} END {print int(s / 1024)}'; }
# "name ns cnt" for each BPF program the process holds
prog_runs() {
  local id line
  for id in $(prog_ids "$1"); do
    line=$(bpftool prog show id "$id" 2> /dev/null | awk "NR == 1") # awk reads it all: head would SIGPIPE bpftool under pipefail
    echo "$line" | awk '{for (i = 1; i < NF; i++) {if ($i == "name") n = $(i + 1);
      if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1)}}
      END {if (n != "") print n, t + 0, c + 0}'
  done
}
wait_gone() { # the programs of an agent that exited, detached in the background
  local id left
  for _ in $(seq 600); do
    left=0
    for id in $1; do bpftool prog show id "$id" > /dev/null 2>&1 && left=1; done
    [ "$left" -eq 0 ] && return 0
    sleep 0.2
  done
}

declare -A ops secs
declare -A v # per config: events, lost, ticks, rss, memlock
: > "$tmp/runs"
for r in $(seq "$rounds"); do
  for c in $configs; do
    pid=0
    case $c in
      floor)
        "$floor" "$workload" > "$tmp/floor.out" 2>&1 &
        pid=$!
        for _ in $(seq 300); do grep -q attached "$tmp/floor.out" && break; sleep 0.1; done ;;
      tracewire)
        "$et" $et_flags --no-start-record --stats-json > /dev/null 2> "$tmp/stats" &
        pid=$!
        # under load, attaching ~100 tracepoints takes a while: the agent
        # sleeps in epoll_wait only once attached
        for _ in $(seq 600); do
          kill -0 $pid 2> /dev/null || break
          case $(cat /proc/$pid/wchan 2> /dev/null) in *epoll*) break ;; esac
          sleep 0.1
        done
        t0=$(awk '{print $14 + $15}' "/proc/$pid/stat") ;;
      bpftrace) bt_start "$bt_script" "$tmp" ;;
    esac
    read -r n t < <(run_workload)
    ops[$c]=$(( ${ops[$c]:-0} + n )); secs[$c]=$(awk -v a="${secs[$c]:-0}" -v b="$t" 'BEGIN {print a + b}')
    case $c in
      floor)
        prog_runs $pid | sed "s/^/floor /" >> "$tmp/runs"
        v[floor.memlock]=$(memlock_kb $pid)
        ids=$(prog_ids $pid); kill -INT $pid; wait $pid || true; pid=0; wait_gone "$ids" ;;
      tracewire)
        v[tracewire.ticks]=$(( ${v[tracewire.ticks]:-0} + $(awk '{print $14 + $15}' "/proc/$pid/stat") - t0 ))
        hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
        [ "$hwm" -gt "${v[tracewire.rss]:-0}" ] && v[tracewire.rss]=$hwm
        v[tracewire.memlock]=$(memlock_kb $pid)
        prog_runs $pid | sed "s/^/tracewire /" >> "$tmp/runs"
        ids=$(prog_ids $pid); kill -INT $pid; wait $pid || true; pid=0; wait_gone "$ids"
        final=$(grep '"final":true' "$tmp/stats")
        for ty in $types; do
          e=$(echo "$final" | grep -o "\"$ty\":{\"emitted\":[0-9]*" | grep -o '[0-9]*$' || true)
          v[tracewire.events]=$(( ${v[tracewire.events]:-0} + ${e:-0} ))
          d=$(echo "$final" | grep -o "\"$ty\":{[^}]*" | grep -o '"received":[0-9]*' | grep -o '[0-9]*$' || true)
          v[tracewire.delivered]=$(( ${v[tracewire.delivered]:-0} + ${d:-0} ))
        done
        l=$(echo "$final" | grep -o '"lost_total":[0-9]*' | grep -o '[0-9]*$')
        v[tracewire.lost]=$(( ${v[tracewire.lost]:-0} + l )) ;;
      bpftrace)
        bt_stop "$tmp"
        echo "bpftrace all $bt_run_ns $bt_run_cnt" >> "$tmp/runs"
        v[bpftrace.events]=$(( ${v[bpftrace.events]:-0} + bt_lines ))
        v[bpftrace.delivered]=${v[bpftrace.events]}
        v[bpftrace.lost]=$(( ${v[bpftrace.lost]:-0} + bt_lost ))
        v[bpftrace.ticks]=$(( ${v[bpftrace.ticks]:-0} + bt_ticks ))
        [ "$bt_rss_kb" -gt "${v[bpftrace.rss]:-0}" ] && v[bpftrace.rss]=$bt_rss_kb
        v[bpftrace.memlock]=$bt_memlock_kb ;;
    esac
  done
done
sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_old" 2> /dev/null || true

rate() { awk -v n="${ops[$1]}" -v t="${secs[$1]}" 'BEGIN {printf "%.0f", n / t}'; }
printf '%s: %s rounds x %ss per configuration, %s CPUs, kernel %s, load average %s\n' \
  "$workload" "$rounds" "$seconds" "$(nproc)" "$(uname -r)" "$(cut -d' ' -f1 /proc/loadavg)" | tee "$tmp/table"
for c in $configs; do
  ratio=$(awk -v a="$(rate "$c")" -v b="$(rate none)" 'BEGIN {printf "%.3f", a / b}')
  ev=${v[$c.events]:-0} lost=${v[$c.lost]:-0} del=${v[$c.delivered]:-0}
  cpm=$(awk -v t="${v[$c.ticks]:-0}" -v hz="$hz" -v e="$del" 'BEGIN {printf "%.2f", (e > 0 ? t / hz * 1e6 / e : 0)}')
  # BPF run time: per program, and the sum over programs per workload operation
  progs=$(awk -v c="$c" '$1 == c {ns[$2] += $3; n[$2] += $4} END {for (p in ns) if (n[p] > 0)
          printf "%s%s %.0f ns (%d runs)", (k++ ? ", " : ""), p, ns[p] / n[p], n[p]}' "$tmp/runs")
  per_op=$(awk -v c="$c" -v ops="${ops[$c]}" '$1 == c {s += $3} END {printf "%.0f", (ops > 0 ? s / ops : 0)}' "$tmp/runs")
  printf '  %-9s %8s %s  ratio %s  events %s delivered %s lost %s  cpu_s/Mev %s  rss %s KiB  bpf memlock %s KiB  bpf ns/op %s  [%s]\n' \
    "$c" "$(rate "$c")" "$unit" "$ratio" "$ev" "$del" "$lost" "$cpm" "${v[$c.rss]:-0}" "${v[$c.memlock]:-0}" "$per_op" "$progs" | tee -a "$tmp/table"
  echo "RESULT $workload.$c rate=$(rate "$c") unit=$unit ratio=$ratio ops=${ops[$c]} events=$ev delivered=$del lost=$lost cpu_s_per_mev=$cpm rss_kb=${v[$c.rss]:-0} memlock_kb=${v[$c.memlock]:-0} bpf_ns_per_op=$per_op progs=\"$progs\"" >> "$results"
done
echo "  tracewire/none ratio $(awk -v a="$(rate tracewire)" -v b="$(rate none)" 'BEGIN {printf "%.3f", a / b}')"

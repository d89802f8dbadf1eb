#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Overhead of run-queue latency tracking (EventsTrace --runqlat) on the worst
# case for it: a pipe ping-pong pinned to one CPU, where every message is a
# wakeup and a context switch. Five modes in alternating rounds (A B C D E A
# B C D E ...), so all see the same machine:
#   A  none         no probes
#   B  floor        empty BPF programs on the three hooks of the own clock
#                   (sched_floor): what merely calling a program there costs
#   C  runqlat      EventsTrace --runqlat (own clock, the default)
#   D  floor1       an empty program on sched_switch alone
#   E  sched_info   EventsTrace --runqlat --runqlat-clock sched_info
# Each clock is compared with its own floor (the same hooks).
# The ratios are taken within this run. The BPF run time per program comes
# from a separate short pass with kernel.bpf_stats_enabled=1, because the
# statistics themselves cost two clock reads per program run and would
# distort the ratios. Appends the figures to docs/benchmarks.md unless --no-doc.
# Usage: sched_bench.sh BUILD_DIR [--seconds N] [--rounds N] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
seconds=10 rounds=3 doc=1
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    *) echo "sched_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "sched_bench: needs root to load the probes" >&2; exit 1; }
et=$build/non-GPL/EventsTrace/EventsTrace
pingpong=$build/testing/bench/pingpong
floor=$build/testing/bench/sched_floor
tmp=$(mktemp -d)
holder=
cleanup() {
  [ -n "$holder" ] && kill "$holder" 2> /dev/null && wait "$holder" 2> /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)

# other tracers on these hooks would make "none" a traced run: say so
others=$(bpftool prog show 2> /dev/null | grep -c -E ' name (tw_sched_|tw_floor_)' || true)
[ "$others" -gt 0 ] && echo "sched_bench: note: $others scheduler probe(s) of others are loaded; 'none' is not untraced" >&2

# BPF programs a process holds, from its fds (another tracer may use the same names)
prog_ids() { grep -hs '^prog_id:' /proc/"$1"/fdinfo/* | awk '{print $2}' | sort -un; }

# start the holder of mode $1 in the background; wait until attached
start_holder() {
  local want=4 clock=own  # programs: wakeup, wakeup_new, switch, fork
  case $1 in
    floor|floor1)
      if [ "$1" = floor1 ]; then "$floor" switch-only > "$tmp/floor.out" 2>&1 &
      else "$floor" > "$tmp/floor.out" 2>&1 &
      fi
      holder=$!
      for i in $(seq 200); do
        grep -q attached "$tmp/floor.out" 2> /dev/null && return 0
        kill -0 "$holder" 2> /dev/null || break
        sleep 0.05
      done ;;
    runqlat|sched_info)
      [ "$1" = sched_info ] && want=2 clock=sched_info  # switch, fork
      "$et" --runqlat=1 --runqlat-clock "$clock" --no-start-record > "$tmp/records" 2> "$tmp/et.err" &
      holder=$!
      # attached once its programs are among its fds
      for i in $(seq 200); do
        [ "$(prog_ids "$holder" | wc -l)" -ge "$want" ] && return 0
        kill -0 "$holder" 2> /dev/null || break
        sleep 0.05
      done ;;
  esac
  echo "sched_bench: the $1 probes did not attach:" >&2
  cat "$tmp"/*.out "$tmp"/*.err >&2 2> /dev/null || true
  exit 1
}

# stop it and wait until its programs are gone (a detached link may linger briefly)
stop_holder() {
  local ids
  ids=$(prog_ids "$holder")
  kill -INT "$holder"
  wait "$holder" || true
  holder=
  for i in $(seq 100); do
    left=0
    for id in $ids; do bpftool prog show id "$id" > /dev/null 2>&1 && left=1; done
    [ "$left" -eq 0 ] && break
    sleep 0.1
  done
}

# end to end: a run's records must be SCHED_RUNQ lines, one naming the root cgroup at least
check_records() {
  records=$(grep -c '^{"event_type":"SCHED_RUNQ"' "$tmp/records" || true)
  if [ "$records" -lt 1 ] || ! grep -q '"cgroup":{"id":[0-9]*,"path":"/"' "$tmp/records"; then
    echo "sched_bench: EventsTrace --runqlat wrote no usable SCHED_RUNQ record:" >&2
    head -c 2000 "$tmp/records" >&2
    exit 1
  fi
}

modes="none floor runqlat floor1 sched_info"
declare -A total time
for m in $modes; do total[$m]=0; time[$m]=0; done
agent_ticks=0 agent_time=0
for r in $(seq "$rounds"); do
  for m in $modes; do
    [ "$m" != none ] && start_holder "$m"
    read -r n t < <("$pingpong" "$seconds" 0)
    if [ "$m" = runqlat ]; then
      agent_ticks=$((agent_ticks + $(awk '{print $14 + $15}' "/proc/$holder/stat")))
      agent_time=$(echo "$agent_time + $t" | bc -l)
    fi

    [ "$m" != none ] && stop_holder
    case $m in runqlat|sched_info) check_records ;; esac
    total[$m]=$((total[$m] + n)); time[$m]=$(echo "${time[$m]} + $t" | bc -l)
  done
done

# the BPF programs' own run time, in a short separate pass with statistics on
stats_old=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2> /dev/null || true
stats_seconds=$(( seconds < 3 ? seconds : 3 ))
declare -A bpf_line
for m in floor runqlat floor1 sched_info; do
  start_holder "$m"
  "$pingpong" "$stats_seconds" 0 > /dev/null
  line=""
  for id in $(prog_ids "$holder"); do
    s=$(bpftool prog show id "$id" 2> /dev/null | awk "NR == 1") || continue
    name=$(echo "$s" | grep -o ' name [a-z_0-9]*' | awk '{print $2}')
    read -r ns cnt < <(echo "$s" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' | awk '{print $2, $4}') || true
    per=0
    [ "${cnt:-0}" -gt 0 ] && per=$(echo "${ns:-0} / $cnt" | bc)
    line="$line${line:+, }$name $per ns (${cnt:-0} runs)"
  done
  bpf_line[$m]=$line
  stop_holder
done
sysctl -qw kernel.bpf_stats_enabled="$stats_old" 2> /dev/null || true

rate() { echo "${total[$1]} / ${time[$1]}" | bc -l; }
r_none=$(rate none) r_floor=$(rate floor) r_rq=$(rate runqlat)
r_floor1=$(rate floor1) r_si=$(rate sched_info)
floor_ratio=$(echo "$r_floor / $r_none" | bc -l)
rq_ratio=$(echo "$r_rq / $r_none" | bc -l)
rq_floor=$(echo "$r_rq / $r_floor" | bc -l)
floor1_ratio=$(echo "$r_floor1 / $r_none" | bc -l)
si_ratio=$(echo "$r_si / $r_none" | bc -l)
si_floor=$(echo "$r_si / $r_floor1" | bc -l)
agent_cpu=$(echo "100 * $agent_ticks / $hz / $agent_time" | bc -l)

printf 'sched benchmark: %s rounds x %ss per mode, pipe ping-pong pinned to CPU 0, %s CPUs, kernel %s\n' \
  "$rounds" "$seconds" "$(nproc)" "$(uname -r)"
printf '  none          %10.0f round trips/s (2 wakeups + 2 switches each)\n' "$r_none"
printf '  floor         %10.0f round trips/s (empty programs on the 3 hooks)\n' "$r_floor"
printf '  runqlat       %10.0f round trips/s (EventsTrace --runqlat=1)\n' "$r_rq"
printf '  floor/none ratio   %.3f\n' "$floor_ratio"
printf '  runqlat/none ratio %.3f\n' "$rq_ratio"
printf '  runqlat/floor ratio %.3f\n' "$rq_floor"
printf '  floor1        %10.0f round trips/s (an empty program on sched_switch)\n' "$r_floor1"
printf '  sched_info    %10.0f round trips/s (--runqlat-clock sched_info)\n' "$r_si"
printf '  floor1/none ratio     %.3f\n' "$floor1_ratio"
printf '  sched_info/none ratio %.3f\n' "$si_ratio"
printf '  sched_info/floor1 ratio %.3f\n' "$si_floor"
printf '  agent CPU     %.2f %% of one CPU; %s SCHED_RUNQ records in the last run\n' "$agent_cpu" "$records"
echo "  BPF floor     ${bpf_line[floor]}"
echo "  BPF runqlat   ${bpf_line[runqlat]}"
echo "  BPF floor1    ${bpf_line[floor1]}"
echo "  BPF sched_info ${bpf_line[sched_info]}"

if [ "$doc" -eq 1 ]; then
  root=$(cd "$(dirname "$0")/../.." && pwd)
  {
    echo
    echo "### sched (run-queue latency) benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r)"
    echo
    echo "$rounds alternating rounds (none, floor, runqlat, floor1, sched_info) of ${seconds}s: a pipe ping-pong, both"
    echo "processes pinned to CPU 0 (every message a wakeup and a context switch)."
    echo
    echo "| measure | value |"
    echo "|---|---|"
    printf '| no probes | %.0f round trips/s |\n' "$r_none"
    printf '| floor: empty programs on the same hooks | %.0f round trips/s |\n' "$r_floor"
    printf '| EventsTrace --runqlat=1 | %.0f round trips/s |\n' "$r_rq"
    printf '| floor / none | %.3f |\n' "$floor_ratio"
    printf '| runqlat / none | %.3f |\n' "$rq_ratio"
    printf '| runqlat / floor | %.3f |\n' "$rq_floor"
    printf '| floor1: an empty program on sched_switch alone | %.0f round trips/s |\n' "$r_floor1"
    printf '| EventsTrace --runqlat=1 --runqlat-clock sched_info | %.0f round trips/s |\n' "$r_si"
    printf '| floor1 / none | %.3f |\n' "$floor1_ratio"
    printf '| sched_info / none | %.3f |\n' "$si_ratio"
    printf '| sched_info / floor1 | %.3f |\n' "$si_floor"
    printf '| agent CPU | %.2f %% of one CPU |\n' "$agent_cpu"
    echo "| BPF run time per run, floor (stats pass) | ${bpf_line[floor]} |"
    echo "| BPF run time per run, runqlat (stats pass) | ${bpf_line[runqlat]} |"
    echo "| BPF run time per run, floor1 (stats pass) | ${bpf_line[floor1]} |"
    echo "| BPF run time per run, sched_info (stats pass) | ${bpf_line[sched_info]} |"
    [ "$others" -gt 0 ] && echo "| note | $others scheduler probe(s) of others were loaded |"
  } >> "$root/docs/benchmarks.md"
  echo "figures appended to docs/benchmarks.md"
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Helpers for running bpftrace as the peer agent, sourced by the benchmark
# scripts. bpftrace's output (stdout, fully buffered) goes through awk, which counts the JSON lines
# and sums the "Lost N events" bpftrace reports, so nothing is stored.
#   bt_start SCRIPT DIR    start bpftrace on SCRIPT; waits until attached;
#                          sets bt_pid (0 when bpftrace is missing or failed)
#                          and bt_ticks0 (its CPU ticks once attached)
#   bt_stop DIR            SIGINT, wait; sets bt_lines bt_lost bt_ticks
#                          bt_rss_kb bt_memlock_kb bt_run_ns bt_run_cnt
bt_available() { command -v bpftrace > /dev/null 2>&1; }
bt_pid=0

# For the callers' EXIT trap: a bpftrace left behind would trace the next runs.
bt_kill() { [ "${bt_pid:-0}" -gt 0 ] && kill -INT "$bt_pid" 2> /dev/null; bt_pid=0; }

bt_start() {
  local script=$1 dir=$2
  rm -f "$dir/bt.attached" "$dir/bt.count"
  bt_pid=0
  bt_available || return 0
  bpftrace "$script" 2> "$dir/bt.err" > >(awk -v out="$dir/bt.count" '
      /^\{/ { n++; next }
      /Lost [0-9]+ events/ { for (i = 1; i < NF; i++) if ($i == "Lost") lost += $(i + 1); next }
      END { print n + 0, lost + 0 > out }') &
  bt_pid=$!
  # Its stdout is a pipe, so fully buffered (as EventsTrace's is): "Attaching"
  # is not seen in time. A loaded program fd says the probes are being
  # attached; a second more covers the attach and the perf buffers' mmap.
  for _ in $(seq 300); do
    grep -qs '^prog_id:' /proc/"$bt_pid"/fdinfo/* && { touch "$dir/bt.attached"; break; }
    kill -0 "$bt_pid" 2> /dev/null || break
    sleep 0.1
  done
  # CPU is counted from here: bpftrace's LLVM compile at start is not per event
  if [ -e "$dir/bt.attached" ]; then
    sleep 1
    bt_ticks0=$(awk '{print $14 + $15}' "/proc/$bt_pid/stat")
  else
    echo "bpftrace did not attach:" >&2; cat "$dir/bt.err" >&2
    kill "$bt_pid" 2> /dev/null || true
    bt_pid=0
  fi
}

bt_stop() {
  local dir=$1 ids id line
  bt_lines=0 bt_lost=0 bt_ticks=0 bt_rss_kb=0 bt_memlock_kb=0 bt_run_ns=0 bt_run_cnt=0
  [ "$bt_pid" -gt 0 ] || return 0
  bt_ticks=$(( $(awk '{print $14 + $15}' "/proc/$bt_pid/stat") - bt_ticks0 ))
  bt_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$bt_pid/status")
  bt_memlock_kb=$(cat /proc/"$bt_pid"/fdinfo/* 2> /dev/null | awk '/^memlock:/ {s += $2} END {print int(s / 1024)}')
  ids=$(grep -hs '^prog_id:' /proc/"$bt_pid"/fdinfo/* | awk '{print $2}' | sort -un)
  for id in $ids; do
    line=$(bpftool prog show id "$id" 2> /dev/null | awk "NR == 1") # awk reads it all: head would SIGPIPE bpftool under pipefail
    read -r ns cnt < <(echo "$line" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' | awk '{print $2, $4}') || true
    bt_run_ns=$((bt_run_ns + ${ns:-0})); bt_run_cnt=$((bt_run_cnt + ${cnt:-0}))
  done
  kill -INT "$bt_pid" 2> /dev/null || true
  wait "$bt_pid" 2> /dev/null || true
  bt_pid=0
  for _ in $(seq 100); do [ -s "$dir/bt.count" ] && break; sleep 0.1; done
  read -r bt_lines bt_lost < "$dir/bt.count" || true
}

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The synthetic maximum (issue 9): a getppid loop on every CPU, one mode of
# ring_ceiling per slot, alternated round by round so every mode sees the
# same machine:
#   none      the loop alone
#   floor     an empty program on sys_enter_getppid
#   filtered  tracewire's filter rejecting the event
#   bare      64-byte bpf_ringbuf_output and nothing else (the ring's limit)
#   tw        tracewire's emit path (80-byte records), decoded by the library
#   tw_nopid  the same path without reading the task's pid block
#   tw_json   the same as tw, also rendered as NDJSON (what EventsTrace does)
#   bpftrace  Debian's bpftrace printing one JSON line per call (bpftrace/getppid.bt)
# Prints the figures and writes RESULT lines to --results FILE, from which
# run_all.sh writes docs/benchmarks.md (--no-doc is accepted for symmetry).
# Usage: ring_ceiling.sh BUILD_DIR [--seconds N] [--rounds N] [--results FILE] [--no-doc]
set -euo pipefail
build=$(cd "$1" && pwd)
shift
seconds=5 rounds=3 doc=1 results=/dev/null
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    *) echo "ring_ceiling: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "ring_ceiling: needs root" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
rc=$build/testing/bench/ring_ceiling
. "$here/bpftrace/run_peer.sh"
tmp=$(mktemp -d)
trap 'bt_kill; rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
bpf_stats_old=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2> /dev/null || true

modes="none floor filtered bare tw_nopid tw tw_json"
bt_available && modes="$modes bpftrace"
declare -A sum
add() { sum[$1]=$(awk -v a="${sum[$1]:-0}" -v b="$2" 'BEGIN {print a + b}'); }
# the value of key K in a ring_ceiling output line
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
load_sum=0
for r in $(seq "$rounds"); do
  for m in $modes; do
    case $m in
      tw_json) line=$("$rc" tw "$seconds" --json) ;;
      bpftrace)
        bt_start "$here/bpftrace/getppid.bt" "$tmp"
        line=$("$rc" none "$seconds")
        bt_stop "$tmp"
        add bpftrace.lines "$bt_lines"; add bpftrace.lost "$bt_lost"
        add bpftrace.cpu_s "$(awk -v t="$bt_ticks" -v hz="$hz" 'BEGIN {print t / hz}')"
        add bpftrace.bpf_run_ns "$bt_run_ns"; add bpftrace.bpf_run_cnt "$bt_run_cnt"
        [ "$bt_rss_kb" -gt "${sum[bpftrace.rss_kb]:-0}" ] && sum[bpftrace.rss_kb]=$bt_rss_kb
        sum[bpftrace.bpf_memlock_kb]=$bt_memlock_kb ;;
      *) line=$("$rc" "$m" "$seconds") ;;
    esac
    for k in calls seconds emitted lost filtered delivered decode_errors bpf_run_ns bpf_run_cnt consumer_cpu_s; do
      add "$m.$k" "$(field "$line" "$k")"
    done
    rss=$(field "$line" rss_kb)
    [ "$rss" -gt "${sum[$m.rss_kb]:-0}" ] && sum[$m.rss_kb]=$rss
    # bpftrace's maps are its own (set above), not the idle driver's
    [ "$m" = bpftrace ] || sum[$m.bpf_memlock_kb]=$(field "$line" bpf_memlock_kb)
    # per-round rate of the untraced loop: its spread is the run-to-run noise
    [ "$m" = none ] && echo "$(field "$line" calls_per_s)" >> "$tmp/none_rates"
  done
  load_sum=$(awk -v a="$load_sum" -v b="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {print a + b}')
done
sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_old" 2> /dev/null || true

ncpu=$(nproc)
rate() { awk -v c="${sum[$1.calls]}" -v s="${sum[$1.seconds]}" 'BEGIN {printf "%.0f", c / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }
per_run() { awk -v n="${sum[$1.bpf_run_ns]:-0}" -v c="${sum[$1.bpf_run_cnt]:-0}" 'BEGIN {printf "%.0f", (c > 0 ? n / c : 0)}'; }
# CPU time a call costs on top of the bare loop, in ns (all CPUs run the loop)
extra_ns() { awk -v r="$(rate "$1")" -v r0="$(rate none)" -v n="$ncpu" 'BEGIN {printf "%.0f", n * 1e9 / r - n * 1e9 / r0}'; }
noise=$(sort -n "$tmp/none_rates" | awk '{v[NR] = $1} END {printf "%.1f", (NR > 1 ? 100 * (v[NR] - v[1]) / v[1] : 0)}')
load=$(awk -v a="$load_sum" -v n="$rounds" 'BEGIN {printf "%.1f", a / n}')

{
  printf 'synthetic maximum: %s rounds x %ss per mode, getppid loop on %s CPUs, kernel %s, load average %s\n' \
    "$rounds" "$seconds" "$ncpu" "$(uname -r)" "$load"
  printf '  %-9s %12s %7s %12s %10s %10s %9s %10s %9s %8s %9s\n' mode calls/s ratio delivered/s delivered dropped bpf_ns/run extra_ns cpu_s/Mev rss_kb memlock_kb
  for m in $modes; do
    if [ "$m" = bpftrace ]; then
      del=${sum[bpftrace.lines]}; drop=${sum[bpftrace.lost]}; cpu=${sum[bpftrace.cpu_s]}; bns=$(per_run bpftrace)
    else
      del=${sum[$m.delivered]}; drop=${sum[$m.lost]}; cpu=${sum[$m.consumer_cpu_s]}; bns=$(per_run "$m")
    fi
    delrate=$(awk -v d="$del" -v s="${sum[$m.seconds]}" 'BEGIN {printf "%.0f", d / s}')
    cpm=$(awk -v c="$cpu" -v d="$del" 'BEGIN {printf "%.3f", (d > 0 ? c * 1e6 / d : 0)}')
    printf '  %-9s %12s %7s %12s %10s %10s %9s %10s %9s %8s %9s\n' "$m" "$(rate "$m")" \
      "$(ratio "$(rate "$m")" "$(rate none)")" "$delrate" "$del" "$drop" "$bns" "$(extra_ns "$m")" \
      "$cpm" "${sum[$m.rss_kb]}" "${sum[$m.bpf_memlock_kb]}"
    echo "RESULT ring.$m rate=$(rate "$m") ratio=$(ratio "$(rate "$m")" "$(rate none)") delivered=$del delivered_per_s=$delrate dropped=$drop bpf_ns=$bns extra_ns=$(extra_ns "$m") cpu_s_per_mev=$cpm rss_kb=${sum[$m.rss_kb]} memlock_kb=${sum[$m.bpf_memlock_kb]} produced=${sum[$m.calls]} emitted=${sum[$m.emitted]:-0}" >> "$tmp/results"
  done
} | tee "$tmp/table"
tw_del=$(grep '^RESULT ring.tw ' "$tmp/results" | tr ' ' '\n' | awk -F= '$1 == "delivered_per_s" {print $2}')
bare_del=$(grep '^RESULT ring.bare ' "$tmp/results" | tr ' ' '\n' | awk -F= '$1 == "delivered_per_s" {print $2}')
filt=$(extra_ns filtered) floor=$(extra_ns floor)
echo "  tw delivered/bare delivered $(ratio "$tw_del" "$bare_del"); filtered/floor extra cost $(ratio "$filt" "$floor") (from throughput), $(ratio "$(per_run filtered)" "$(per_run floor)") (from BPF run time); untraced rate spread over rounds ${noise} %"
{
  cat "$tmp/results"
  echo "RESULT ring.summary delivery_ratio=$(ratio "$tw_del" "$bare_del") filtered_floor_throughput=$(ratio "$filt" "$floor") filtered_floor_runtime=$(ratio "$(per_run filtered)" "$(per_run floor)") noise_pct=$noise load=$load filtered_bpf_ns=$(per_run filtered) floor_bpf_ns=$(per_run floor) filtered_extra_ns=$filt floor_extra_ns=$floor"
} >> "$results"

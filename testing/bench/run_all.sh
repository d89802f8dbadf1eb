#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: every benchmark of testing/bench in one run (issue 9), within
# ~20 minutes on a 2-CPU machine, then the suite's section of
# docs/benchmarks.md (between the bench-suite markers, replaced on each run)
# with PASS/FAIL per target. Other benchmarks (sched, net, netacct) append
# their own sections as they always did. Exits 0 even when targets fail.
# Usage: run_all.sh BUILD_DIR [--quick] [--no-doc] [--steps "exec synthetic ..."]
#   --quick   1 round of 2 s everywhere (a check that it all runs, not figures)
#   --steps   run only these steps (exec file tty synthetic decode sched net
#             netacct) and keep the previous run's figures for the others
set -uo pipefail
build=$(cd "$1" && pwd)
shift
quick=0 doc=1 steps="exec file tty synthetic decode sched net netacct"
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift ;;
    --no-doc) doc=0; shift ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "run_all: unknown argument $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$build/bench-out
mkdir -p "$out"
res=$out/suite.results
log=$out/run_all.log
# RESULT prefix and log section of each step, to keep the figures of steps not rerun
declare -A prefix=([exec]=exec [file]=file [tty]=tty [synthetic]=ring [decode]=decode)
keep_res="" keep_log=""
for s in exec file tty synthetic decode sched net netacct; do
  case " $steps " in *" $s "*) ;; *)
    [ -n "${prefix[$s]:-}" ] && keep_res="$keep_res$(grep -s "^RESULT ${prefix[$s]}[.]" "$res")"$'\n'
    keep_res="$keep_res$(grep -s "^STEP $s " "$res")"$'\n'
    keep_log="$keep_log$(awk -v s="$s" '/^== / {on = ($2 == s)} on' "$log" 2> /dev/null)"$'\n' ;;
  esac
done
echo "$keep_res" | grep -v '^$' > "$res.new" || true
mv "$res.new" "$res"
echo "$keep_log" | grep -v '^$' > "$log" || true
started=$(date +%s)
loads=""

# name, then the command; its time and the load average at its start are kept
step() {
  local name=$1 t0 at load
  shift
  case " $steps " in *" $name "*) ;; *) return 0 ;; esac
  t0=$(date +%s) at=$(date -u +%H:%M) load=$(cut -d' ' -f1 /proc/loadavg)
  echo "== $name ($(date -u +%H:%M:%S))" | tee -a "$log"
  "$@" 2>&1 | tee -a "$log"
  echo "STEP $name $(( $(date +%s) - t0 )) $at $load" >> "$res"
}

if [ "$quick" -eq 1 ]; then
  ex="--seconds 2 --rounds 1" fi_="--seconds 2 --rounds 1" ty="--seconds 2 --rounds 1"
  ring="--seconds 1 --rounds 1" dec="--seconds 1 --record-seconds 1" other="--seconds 1 --rounds 1 --no-doc"
else
  # exec: 3 x 10 s per configuration (30 s each, as the issue asks)
  ex="--seconds 10 --rounds 3" fi_="--seconds 8 --rounds 2" ty="--seconds 8 --rounds 2"
  ring="--seconds 4 --rounds 3" dec="--seconds 5 --record-seconds 3" other=""
  [ "$doc" -eq 1 ] || other="--no-doc"
fi
step exec bash "$here/floor_bench.sh" "$build" exec $ex --results "$res"
step file bash "$here/floor_bench.sh" "$build" file $fi_ --results "$res"
step tty bash "$here/floor_bench.sh" "$build" tty $ty --results "$res"
step synthetic bash "$here/ring_ceiling.sh" "$build" $ring --results "$res"
step decode bash "$here/decode_bench.sh" "$build" $dec --results "$res"
# the other engineers' benchmarks, with their own defaults and doc sections
step sched bash "$here/sched_bench.sh" "$build" $other
step net bash "$here/net_bench.sh" "$build" $other
[ -f "$here/netacct_bench.sh" ] && step netacct bash "$here/netacct_bench.sh" "$build" $other
total=$(( $(date +%s) - started ))

# value of FIELD in the RESULT line KEY
get() { grep "^RESULT $1 " "$res" | head -1 | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
# average run time of one program in the progs="..." list of a RESULT line
prog_ns() { grep "^RESULT $1 " "$res" | grep -o "$2 [0-9]* ns" | awk '{print $2}'; }
num() { [ -n "$1" ] && echo "$1" || echo 0; }
verdicts=$out/verdicts
: > "$verdicts"
verdict() { # target, measured, PASS|FAIL, why
  echo "| $1 | $2 | **$3** | $4 |" >> "$verdicts"
  printf '%-4s %s: %s %s\n' "$3" "$1" "$2" "${4:+($4)}"
}

lt=$(num "$(get exec.tracewire lost)") ltty=$(num "$(get tty.tracewire lost)")
verdict "zero drops, exec storm" "$lt lost of $(get exec.tracewire events)" \
  "$([ "$lt" -eq 0 ] && echo PASS || echo FAIL)" ""
verdict "zero drops, tty spam" "$ltty lost of $(get tty.tracewire events)" \
  "$([ "$ltty" -eq 0 ] && echo PASS || echo FAIL)" ""

dr=$(num "$(get ring.summary delivery_ratio)")
verdict "delivery >= 90 % of the bare producer" \
  "$(get ring.tw delivered_per_s)/s vs $(get ring.bare delivered_per_s)/s = $dr" \
  "$(awk -v r="$dr" 'BEGIN {print (r >= 0.9 ? "PASS" : "FAIL")}')" \
  "untraced rate spread over the rounds $(get ring.summary noise_pct) %; dropped: tracewire $(get ring.tw dropped), bare $(get ring.bare dropped); the producers use both CPUs, so the delivered rate follows each record's BPF cost: $(get ring.tw bpf_ns) ns for tracewire's emit path (header, pid block, scratch, counters), $(get ring.tw_nopid bpf_ns) ns without the pid block, $(get ring.bare bpf_ns) ns for the bare 64-byte output"

ft=$(num "$(get ring.summary filtered_floor_throughput)") fr=$(num "$(get ring.summary filtered_floor_runtime)")
noise=$(get ring.summary noise_pct)
fdiff=$(awk -v a="$(get ring.summary filtered_extra_ns)" -v b="$(get ring.summary floor_extra_ns)" 'BEGIN {d = a - b; print (d < 0 ? -d : d)}')
# The throughput figure is trusted only with a noise estimate (2+ rounds) and
# when both the floor's own cost and the difference stand above that noise;
# otherwise the programs' run times decide (they leave out the dispatch cost
# common to both, so that ratio is the pessimistic one).
noise_ns=$(awk -v p="$(num "$noise")" -v r="$(get ring.none rate)" -v n="$(nproc)" 'BEGIN {printf "%.0f", p / 100 * n * 1e9 / r}')
floor_extra=$(num "$(get ring.summary floor_extra_ns)")
if [ "$(awk -v p="$(num "$noise")" 'BEGIN {print (p > 0)}')" = 1 ] &&
   awk -v d="$fdiff" -v f="$floor_extra" -v n="$noise_ns" 'BEGIN {exit !(d > n && f > n)}'; then
  trusted=$ft src="throughput trusted: the floor's cost and the difference stand above the noise (${noise_ns} ns per call)"
else
  trusted=$fr src="program run time trusted: the throughput difference (${fdiff} ns per call) or the floor's own cost (${floor_extra} ns) is inside the noise (${noise_ns} ns per call, ${noise} % spread; 0 = one round, unknown)"
fi
verdict "filtered-out events <= 1.2x the floor" \
  "throughput: $ft, program run time: $fr ($(get ring.summary filtered_bpf_ns) vs $(get ring.summary floor_bpf_ns) ns)" \
  "$(awk -v r="$trusted" 'BEGIN {print (r <= 1.2 ? "PASS" : "FAIL")}')" "$src"

# network: every tracewire program's run time in net_bench's output, weighted by runs
net=$(awk '/^== / {s = $2} s == "net" && /BPF tracewire/ {for (i = 3; i < NF - 2; i++)
      if ($(i + 1) == "ns" && $(i + 2) == "x") {n = $(i + 3); gsub(/,/, "", n); ns += $i * n; c += n}}
      END {if (c > 0) printf "%.0f %d", ns / c, c}' "$log")
if [ -n "$net" ]; then
  verdict "captured network events <= 350 ns average BPF run time" \
    "${net% *} ns per run over ${net#* } runs of the network programs (net_bench: iperf3, sockperf, churn)" \
    "$(awk -v a="${net% *}" 'BEGIN {print (a <= 350 ? "PASS" : "FAIL")}')" \
    "dominated by sockops (every TCP callback); per-connection programs (accept, release) cost microseconds"
fi
fe=$(prog_ns file.tracewire tw_file_sys_enter) fx=$(prog_ns file.tracewire tw_file_sys_exit)
favg=$(grep '^RESULT file.tracewire ' "$res" | grep -o 'tw_file_sys_[a-z]* [0-9]* ns ([0-9]* runs)' |
       awk '{gsub(/\(/, "", $4); ns += $2 * $4; n += $4} END {printf "%.0f", (n > 0 ? ns / n : 0)}')
verdict "captured file events <= 350 ns average BPF run time" \
  "enter $(num "$fe") ns, exit $(num "$fx") ns, average $favg ns per run" \
  "$(awk -v a="$favg" 'BEGIN {print (a > 0 && a <= 350 ? "PASS" : "FAIL")}')" \
  "the exit program resolves the full path in the kernel (dentry walk with bpf_loop) and builds the record: that walk is most of it"
xe=$(num "$(prog_ns exec.tracewire tw_process_exec)")
verdict "exec with a 10 KB argv <= 5 us" "tw_process_exec $xe ns per exec" \
  "$(awk -v a="$xe" 'BEGIN {print (a > 0 && a <= 5000 ? "PASS" : "FAIL")}')" \
  "copies the 10 KB argv and walks three paths (executable, cwd, cgroup) per exec"
da=$(num "$(get decode.all events_per_s)") ds=$(num "$(get decode.small events_per_s)")
verdict "decode + NDJSON >= 1.5 M events/s per core" \
  "$da/s on the recorded mix ($(get decode.all avg_json_bytes) JSON bytes per event), $ds/s on records up to 1 KiB ($(get decode.small avg_json_bytes) bytes)" \
  "$(awk -v a="$ds" 'BEGIN {print (a >= 1500000 ? "PASS" : "FAIL")}')" \
  "rendering is bound by the JSON bytes: every event carries the pid block, creds, two timestamps and an ISO 8601 time; $(get decode.small ndjson_mb_per_s) MB/s of NDJSON on the small records"
for w in exec file ring; do
  if [ "$w" = ring ]; then tw=ring.tw_json bt=ring.bpftrace; produced=$(get ring.tw_json produced); btproduced=$(get ring.bpftrace produced)
  else tw=$w.tracewire bt=$w.bpftrace; produced=""; btproduced=""; fi
  grep -q "^RESULT $bt " "$res" || { verdict "vs bpftrace, $w" "bpftrace not run" FAIL "bpftrace missing"; continue; }
  twl=$(num "$(get $tw lost)") btl=$(num "$(get $bt lost)")
  [ "$w" = ring ] && twl=$(num "$(get ring.tw_json dropped)") && btl=$(num "$(get ring.bpftrace dropped)")
  twc=$(get $tw cpu_s_per_mev) btc=$(get $bt cpu_s_per_mev)
  unc=""
  if [ -n "$btproduced" ]; then
    btd=$(get ring.bpftrace delivered)
    unc="; bpftrace uncounted loss $(( btproduced - btd - btl )) of $btproduced calls, tracewire $(( produced - $(get ring.tw_json delivered) - twl )) of $produced"
  fi
  ok=$(awk -v a="$twl" -v b="$btl" -v c="$twc" -v d="$btc" 'BEGIN {print ((a < b || a == 0) && c < d ? "PASS" : "FAIL")}')
  verdict "fewer drops and less CPU per event than bpftrace, $w" \
    "drops $twl vs $btl; CPU $twc vs $btc s per million events$unc" "$ok" \
    "$([ "$w" = exec ] && echo "bpftrace's join() prints at most 16 args of 64 bytes: the 10 KB argv is cut without a count")"
done

loads=$(awk '/^STEP/ {printf " %s %s", $2, $5}' "$res")
busy=$(awk '/^STEP/ && $5 > m {m = $5} END {print m + 0}' "$res")
echo "suite: $total s in all; highest load average at a step start: $busy (2 CPUs)"

[ "$doc" -eq 1 ] || exit 0
commit=$(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2> /dev/null | grep -q . && echo " (with uncommitted changes)")
section=$out/section.md
{
  echo "<!-- bench-suite:begin (written by testing/bench/run_all.sh; replaced on each run) -->"
  echo "## Suite figures: $(date -u +%Y-%m-%d), commit $commit$dirty, kernel $(uname -r), $(nproc) CPUs"
  echo
  echo "Reproduce: \`make bench\` (or \`bash testing/bench/run_all.sh build\`), as root; $(awk '/^STEP/ {s += $3} END {print s + 0}' "$res") s of benchmarks here."
  echo "Every workload runs in its configurations in alternation (A B C D A B C D ...): no agent, the"
  echo "floor (the same hooks, programs that return at once), tracewire (EventsTrace, NDJSON to /dev/null)"
  echo "and bpftrace $(bpftrace --version 2> /dev/null | awk '{print $2}') (Debian's package) printing the equivalent fields as JSON lines."
  echo "Load average at each step's start:$loads (the machine is shared: $( awk -v b="$busy" 'BEGIN {print (b > 2.5 ? "it was busy with other work during this run, so only the ratios within one step mean anything" : "it was mostly idle")}'))."
  echo
  echo "### Targets"
  echo
  echo "| target | measured | verdict | why |"
  echo "|---|---|---|---|"
  cat "$verdicts"
  echo
  echo "### exec, file, tty in four configurations"
  echo
  echo "ratio: workload rate / no agent. events: emitted in the kernel host-wide (tracewire) or JSON lines"
  echo "printed (bpftrace). CPU: user + sys of the agent process per million events delivered (bpftrace's"
  echo "LLVM compile at start excluded). BPF ns/op: run time of all the configuration's programs per"
  echo "workload operation (other processes' calls included); per program: average per run. BPF share:"
  echo "the estimate from program cost (BPF ns/op x rate, in % of one CPU), to trust over the ratio when"
  echo "the ratio moves by less than the run-to-run noise (rates moved by tens of percent between rounds here)."
  echo
  echo "| workload | config | rate | ratio | events | lost | CPU s / M events | RSS KiB | BPF memlock KiB | BPF ns/op | BPF share | programs |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for w in exec file tty; do
    for c in none floor tracewire bpftrace; do
      grep -q "^RESULT $w.$c " "$res" || continue
      echo "| $w | $c | $(get $w.$c rate) $(get $w.$c unit) | $(get $w.$c ratio) | $(get $w.$c events) | $(get $w.$c lost) | $(get $w.$c cpu_s_per_mev) | $(get $w.$c rss_kb) | $(get $w.$c memlock_kb) | $(get $w.$c bpf_ns_per_op) | $(awk -v n="$(get $w.$c bpf_ns_per_op)" -v r="$(get $w.$c rate)" 'BEGIN {printf "%.2f %%", n * r / 1e7}') | $(grep "^RESULT $w.$c " "$res" | sed 's/.*progs="\(.*\)"/\1/') |"
    done
  done
  echo
  echo "### Synthetic maximum (getppid on every CPU)"
  echo
  echo "One program on syscalls/sys_enter_getppid per mode (testing/bench/bpf/ring_ceiling.bpf.c), a"
  echo "getppid loop pinned on each CPU, the consumer unpinned in the same process (testing/bench/ring_ceiling.c)."
  echo "bare: bpf_ringbuf_output of 64 bytes only; tw: tracewire's emit path (80-byte records with the pid"
  echo "block, tw_emit.h) decoded by the library; tw_json: also rendered as NDJSON; tw_nopid: tw without"
  echo "reading the pid block; filtered: the pid filter rejecting the event; bpftrace: one JSON line per call."
  echo "Ring 8 MiB, adaptive wakeup at 64 KiB for all. extra ns: CPU time per call above the bare loop,"
  echo "from throughput. CPU: the consumer thread (or bpftrace) per million events delivered."
  echo
  echo "| mode | calls/s | ratio | delivered/s | delivered | dropped | BPF ns/run | extra ns/call | CPU s / M events | RSS KiB | BPF memlock KiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for m in none floor filtered bare tw_nopid tw tw_json bpftrace; do
    grep -q "^RESULT ring.$m " "$res" || continue
    echo "| $m | $(get ring.$m rate) | $(get ring.$m ratio) | $(get ring.$m delivered_per_s) | $(get ring.$m delivered) | $(get ring.$m dropped) | $(get ring.$m bpf_ns) | $(get ring.$m extra_ns) | $(get ring.$m cpu_s_per_mev) | $(get ring.$m rss_kb) | $(get ring.$m memlock_kb) |"
  done
  echo
  echo "Untraced rate spread over the rounds: $(get ring.summary noise_pct) %."
  echo
  echo "### Decode + NDJSON (userspace only, one pinned CPU)"
  echo
  echo "A stream recorded with \`EventsTrace --process --file --tty --record\` during exec (10 KB argv),"
  echo "file and tty storms at once, decoded and rendered in a loop (testing/bench/decode_bench.c)."
  echo
  echo "| records | events/s per core | NDJSON MB/s | JSON bytes per event | records in the recording |"
  echo "|---|---|---|---|---|"
  echo "| all | $(get decode.all events_per_s) | $(get decode.all ndjson_mb_per_s) | $(get decode.all avg_json_bytes) | $(get decode.all records) ($(get decode.all mix); type:count) |"
  echo "| up to 1 KiB | $(get decode.small events_per_s) | $(get decode.small ndjson_mb_per_s) | $(get decode.small avg_json_bytes) | $(get decode.small records) |"
  echo
  echo "Steps (duration, start time UTC): $(awk '/^STEP/ {printf "%s%s %s s at %s", (n++ ? ", " : ""), $2, $3, $4}' "$res")."
  echo "<!-- bench-suite:end -->"
} > "$section"

# replace the previous suite section, or put it before the first dated figures
python3 - "$root/docs/benchmarks.md" "$section" <<'PY'
import re, sys
doc_path, sec_path = sys.argv[1], sys.argv[2]
doc = open(doc_path).read()
sec = open(sec_path).read().rstrip("\n") + "\n"
pat = re.compile(r"<!-- bench-suite:begin.*?<!-- bench-suite:end -->\n?", re.S)
if pat.search(doc):
    doc = pat.sub(lambda m: sec, doc, count=1)
else:
    at = doc.find("\n## ")
    doc = doc + "\n" + sec if at < 0 else doc[:at + 1] + sec + "\n" + doc[at + 1:]
open(doc_path, "w").write(doc)
PY
echo "suite figures written to docs/benchmarks.md"

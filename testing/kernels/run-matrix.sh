#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot Debian kernels under qemu with the twk_guest initramfs and collect results.
#
#   run-matrix.sh --guest PATH [--out DIR] [--doc FILE] [--only NAME[,NAME]] [--repeat N]
#                 [--jobs 1|2] [--smoke] [--timeout S] [--cpu MODEL]
#                 [--suite BUILD_DIR] [--suite-tests "file process ..."]
#
# --smoke: only Debian 12's 6.1 kernel ($TWK_SMOKE_KERNEL: another name of kernels.list), for CI; exits 77 (skip) with a reason when
# qemu or the image cannot be had. Results: DIR/<name>.<run>.log (the serial console),
# DIR/summary.tsv, and with --doc a Markdown report (docs/kernels.md).
# --cpu: qemu's -cpu (default max,cx16=off, $TWK_QEMU_CPU: with cmpxchg16b, 6.12 guests
# oopsed early in boot in half of the runs under qemu 7.2's TCG; see README.md).
# --suite: also run the Criterion integration suite of BUILD_DIR inside every guest
# (stage-suite.sh; --suite-tests picks binaries, default all); the guest's time limit
# becomes --timeout (default then 3600 s) and each binary gets twk.suite_timeout
# ($TWK_SUITE_TIMEOUT, 900 s); bursts run at $TWK_TEST_SCALE percent (25: TW_TEST_SCALE).
# Guests run under software emulation (KVM does not work on the machines this was
# written on) and under `nice -n 19`; at most two at once.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
guest= out= doc= only= repeat=1 jobs=1 smoke=0 timeout_s= cpu=${TWK_QEMU_CPU:-max,cx16=off}
suite= suite_tests= suite_timeout=${TWK_SUITE_TIMEOUT:-900} test_scale=${TWK_TEST_SCALE:-25}
cpu_asked=0; [ -n "${TWK_QEMU_CPU:-}" ] && cpu_asked=1
while [ $# -gt 0 ]; do
  case "$1" in
  --guest) guest=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  --doc) doc=$2; shift 2 ;;
  --only) only=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  --jobs) jobs=$2; shift 2 ;;
  --smoke) smoke=1; shift ;;
  --timeout) timeout_s=$2; shift 2 ;;
  --cpu) cpu=$2; cpu_asked=1; shift 2 ;;
  --suite) suite=$2; shift 2 ;;
  --suite-tests) suite_tests=$2; shift 2 ;;
  *) echo "run-matrix: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$jobs" -gt 2 ] && jobs=2
[ -z "$timeout_s" ] && { [ -n "$suite" ] && timeout_s=3600 || timeout_s=240; }
skip() { echo "SKIP: $*"; exit 77; }

if [ -z "$guest" ] || [ ! -x "$guest" ]; then
  echo "run-matrix: --guest must name the built twk_guest binary" >&2
  exit 2
fi
out=${out:-$(dirname "$guest")/matrix}
mkdir -p "$out"
qemu=$(command -v qemu-system-x86_64 || true)
if [ -z "$qemu" ]; then
  [ $smoke = 1 ] && skip "qemu-system-x86_64 is not installed (docker/install-deps.sh installs qemu-system-x86)"
  echo "run-matrix: qemu-system-x86_64 is not installed" >&2; exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  [ $smoke = 1 ] && skip "not root (the image cache and the initramfs device node need root)"
  echo "run-matrix: run as root" >&2; exit 1
fi
# the smoke kernel: Debian 12's own by default
smoke_kernel=${TWK_SMOKE_KERNEL:-6.1}
[ $smoke = 1 ] && only=$smoke_kernel

# ---- initramfs: /init is the guest, /bin/twk-true the same binary for the exec test ----
# Debian's merged-/usr layout (/bin -> usr/bin), so staged host programs run at their paths.
initrd=$out/initramfs.cpio.gz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage" # the guest's /: the suite runs programs as other users too
mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib,usr/lib64,dev,proc,sys,tmp,run}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$stage/$d"; done
cp "$guest" "$stage/init"
ln "$stage/init" "$stage/usr/bin/twk-true"
mknod -m 600 "$stage/dev/console" c 5 1
if [ -n "$suite" ]; then
  # shellcheck disable=SC2086 # a list of test names
  "$here/stage-suite.sh" "$suite" "$stage" $suite_tests || exit 2
fi
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -1) > "$initrd"

# initrd_for VMLINUZ: the initramfs, plus (with --suite) that kernel's modules as a
# second archive (the kernel unpacks concatenated archives in turn; without its own "."
# entry, whose mode would replace that of the guest's /)
initrd_for() {
  local mods
  mods=$(dirname "$1")/modules
  if [ -z "$suite" ] || [ ! -s "$mods/order" ]; then echo "$initrd"; return; fi
  local k=$out/initramfs.$(basename "$(dirname "$1")").cpio.gz m
  m=$(mktemp -d)
  mkdir -p "$m/modules" && cp "$mods"/*.ko "$mods/order" "$m/modules/"
  { cat "$initrd"; (cd "$m" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -1); } > "$k"
  rm -rf "$m"
  echo "$k"
}

# ---- one guest: boot, wait, classify ----
# run_guest NAME RUN VMLINUZ EXPECT: writes $out/NAME.RUN.log and $out/NAME.RUN.status
# Kernels expected to pass must serve file events from the vfs hook set (fentry/fexit):
# twk.file_hooks=vfs makes the guest assert it (testing/kernels/guest/files.c).
run_guest() {
  local name=$1 run=$2 kernel=$3 log=$out/$1.$2.log t0 t1 rc status extra= cpu=${5:-$cpu}
  [ "${4:-}" = pass ] && extra=" twk.file_hooks=vfs"
  [ -n "$suite" ] && extra="$extra twk.suite_timeout=$suite_timeout twk.test_scale=$test_scale"
  t0=$(date +%s%N)
  timeout --kill-after=10 "$timeout_s" nice -n 19 "$qemu" -accel tcg -cpu "$cpu" -M pc -m 1024 -smp 1 \
    -nodefaults -display none -no-reboot -monitor none -serial "file:$log" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$kernel" -initrd "$(initrd_for "$kernel")" \
    -append "console=ttyS0 panic=-1 oops=panic loglevel=3 rdinit=/init$extra" </dev/null >/dev/null 2>"$log.qemu"
  rc=$?
  t1=$(date +%s%N)
  tr -d '\r' < "$log" > "$log.tmp" && mv "$log.tmp" "$log"
  if grep -q '^TWK RESULT status=pass' "$log"; then status=pass
  elif grep -q '^TWK RESULT status=fail' "$log"; then status=fail
  elif grep -qE 'Kernel panic|BUG:|Oops' "$log"; then status=crash
  elif [ $rc = 124 ] || [ $rc = 137 ]; then status=timeout
  elif grep -q '^TWK BEGIN' "$log"; then status=incomplete
  else status=no-boot
  fi
  # the exit device must agree with the console: 33 pass, 35 fail
  if { [ $status = pass ] && [ $rc != 33 ]; } || { [ $status = fail ] && [ $rc != 35 ]; }; then
    status="$status(exit=$rc)"
  fi
  echo "$status $(( (t1 - t0) / 1000000 )) $rc" > "$out/$name.$run.status"
}

# ---- which kernels ----
declare -a names=() sets=() pkgs=() expects=() cpus=() images=() releases=()
while read -r name set pkg expect kcpu; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ -n "$only" ] && ! printf ',%s,' "$only" | grep -q ",$name,"; then continue; fi
  # a kernel's own CPU model (kernels.list), unless one was asked for
  [ -z "$kcpu" ] || [ "$kcpu" = - ] || [ "$cpu_asked" = 1 ] && kcpu=$cpu
  names+=("$name"); sets+=("$set"); pkgs+=("$pkg"); expects+=("$expect"); cpus+=("$kcpu")
done < "$here/kernels.list"
[ ${#names[@]} -eq 0 ] && { echo "run-matrix: no kernel selected" >&2; exit 2; }

for i in "${!names[@]}"; do
  p=${pkgs[$i]}; [ "$p" = - ] && p=
  if img=$("$here/fetch-kernel.sh" "${sets[$i]}" $p 2>"$out/${names[$i]}.fetch.log"); then
    images+=("$img"); releases+=("$(cat "$(dirname "$img")/release")")
  else
    why=$(grep '^fetch-kernel:' "$out/${names[$i]}.fetch.log" | tail -n1)
    [ $smoke = 1 ] && skip "kernel image for ${names[$i]} could not be obtained: ${why:-$(tail -n1 "$out/${names[$i]}.fetch.log")}"
    images+=(""); releases+=("(not obtained)")
  fi
done

# ---- run: every kernel `repeat` times, at most `jobs` guests at once ----
rm -f "$out"/*.status
queue=()
for r in $(seq 1 "$repeat"); do
  for i in "${!names[@]}"; do [ -n "${images[$i]}" ] && queue+=("$i:$r"); done
done
running=0
for item in "${queue[@]}"; do
  i=${item%%:*}; r=${item##*:}
  echo "run-matrix: booting ${names[$i]} (${releases[$i]}), run $r" >&2
  run_guest "${names[$i]}" "$r" "${images[$i]}" "${expects[$i]}" "${cpus[$i]}" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

# ---- summary ----
field() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" <<<"$1" | head -n1; }
summary=$out/summary.tsv
printf 'name\trelease\texpect\truns\tpassed\tstatuses\ttimes_s\n' > "$summary"
overall=0
for i in "${!names[@]}"; do
  n=${names[$i]} runs=0 passed=0 statuses= times=
  for r in $(seq 1 "$repeat"); do
    f=$out/$n.$r.status
    [ -e "$f" ] || continue
    read -r st ms rc < "$f"
    runs=$((runs + 1)); [ "$st" = pass ] && passed=$((passed + 1))
    statuses="$statuses${statuses:+,}$st"
    times="$times${times:+,}$(awk -v m="$ms" 'BEGIN{printf "%.1f", m/1000}')"
  done
  printf '%s\t%s\t%s\t%d\t%d\t%s\t%s\n' "$n" "${releases[$i]}" "${expects[$i]}" "$runs" "$passed" \
    "${statuses:--}" "${times:--}" >> "$summary"
  echo "run-matrix: $n ${releases[$i]}: $passed/$runs passed (${statuses:-not run}) times ${times:--} s" >&2
  if [ "${expects[$i]}" = pass ] && { [ $runs = 0 ] || [ $passed != "$runs" ]; }; then overall=1; fi
done

if [ -n "$doc" ]; then
  "$here/write-report.sh" "$out" "$summary" "$repeat" "$cpu" > "$doc.tmp" && mv "$doc.tmp" "$doc"
fi
# the smoke test shows the guest's lines, so a CI failure explains itself
# (passing tests and hook probes left out; a failed test's assertion from Criterion's output)
if [ $smoke = 1 ]; then
  grep -a -h '^TWK ' "$out/$smoke_kernel".*.log 2>/dev/null | grep -v -e '^TWK HOOK' -e '^TWK TEST .*status=pass'
  grep -a -h -B8 '^\[FAIL\]' "$out/$smoke_kernel".*.log 2>/dev/null | grep -a -e '^\[----\]' -e '^\[FAIL\]' | grep -v '^\[----\] *$'
fi
exit $overall

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Stage the Criterion integration suite for the kernel-matrix initramfs.
#
#   stage-suite.sh BUILD_DIR STAGE_DIR [TEST ...]
#
# Copies the integration test binaries (BUILD_DIR/testing/integration/it_*) to
# STAGE_DIR/suite, writes STAGE_DIR/suite/list (one binary per line, the order
# the guest runs them in), and copies the programs the tests run (a shell, ip, tc,
# sysctl, rm, true, echo, sleep) with every shared library ldd names, at their
# host paths: the stage mirrors Debian's merged /usr layout (/bin, /sbin, /lib,
# /lib64 are links into usr/), so the binaries run unchanged, as on the host.
# TEST names select binaries (file, process, ...); default: every one, in name order.
set -euo pipefail

build=${1:?build directory}
stage=${2:?stage directory}
shift 2
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  # every Criterion binary the build made (it_jsoncheck is a helper of the shell tests)
  for f in "$build"/testing/integration/it_*; do
    n=${f##*/it_}
    [ -x "$f" ] && [ "$n" != jsoncheck ] && tests+=("$n")
  done
fi

# run-matrix.sh made the merged layout (bin -> usr/bin, ...): files go under usr/
[ -L "$stage/bin" ] || { echo "stage-suite: $stage lacks the merged /usr layout" >&2; exit 2; }
mkdir -p "$stage/suite" "$stage/etc"
mkdir -p "$stage/var" && ln -sfn ../run "$stage/var/run"  # ip netns keeps its mounts in /var/run/netns

# copy_at PATH: the file behind PATH, at PATH inside the stage (symlinks resolved)
copy_at() {
  local p=$1 real
  real=$(readlink -f "$p")
  case "$p" in /bin/*|/sbin/*|/lib/*|/lib64/*) p=/usr$p ;; esac
  mkdir -p "$stage$(dirname "$p")"
  [ -e "$stage$p" ] || cp "$real" "$stage$p"
}
# copy_with_libs PROGRAM: it and its shared libraries (ldd: "name => /path (addr)" or "/path (addr)")
copy_with_libs() {
  local prog=$1 lib
  copy_at "$prog"
  while read -r lib; do
    [ -n "$lib" ] && copy_at "$lib"
  done < <(ldd "$prog" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p')
}

for prog in bash dash ip tc sysctl rm true echo sleep cat mkdir; do
  path=$(type -P "$prog") || { echo "stage-suite: $prog is not installed" >&2; exit 1; }
  copy_with_libs "$path"
done
ln -sfn dash "$stage/usr/bin/sh"

: > "$stage/suite/list"
for t in "${tests[@]}"; do
  bin=$build/testing/integration/it_$t
  [ -x "$bin" ] || { echo "stage-suite: $bin is not built" >&2; exit 1; }
  cp "$bin" "$stage/suite/it_$t"
  copy_with_libs "$bin"
  echo "it_$t" >> "$stage/suite/list"
done
# what getpwuid/getgrgid and the tests' names need (glibc's files NSS is built in)
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$stage/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$stage/etc/hosts"

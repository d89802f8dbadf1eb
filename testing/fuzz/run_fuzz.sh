#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every fuzz target for SECONDS each from the seed corpora; a crash fails
# the run and leaves its input in the work directory (make it a regression test).
# Usage: run_fuzz.sh FUZZ_BUILD_DIR SECONDS
set -euo pipefail
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
status=0
passed=0
targets=$(cd "$build/testing/fuzz" && ls fuzz_* | grep -v '\.' | sed 's/^fuzz_//')
for t in $targets; do
  mkdir -p "$work/$t"
  cp "$here/corpus/$t"/* "$work/$t/" 2> /dev/null || true
  echo "fuzz_$t: ${seconds}s"
  if ! (cd "$work" && "$build/testing/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=65536 \
        -print_final_stats=1 "$work/$t" > "$work/$t.log" 2>&1); then
    echo "fuzz_$t FAILED; log and crash input in $work:"; tail -30 "$work/$t.log"; status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$work/$t.log" | tail -2
    passed=$((passed + 1))
  fi
done
[ $status -eq 0 ] && rm -rf "$work"
echo "fuzzing: $passed passed, $([ $status -eq 0 ] && echo 0 failed || echo failures found)"
exit $status

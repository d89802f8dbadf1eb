#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Docker is not available where CI runs, so the builder image cannot be built here. What can
# be checked is that it cannot drift from CI: docker/Dockerfile installs with the script .ci/run
# uses, with the same arguments by default, and runs .ci/run itself.
# Usage: test_docker.sh SOURCE_DIR
set -uo pipefail
SRC=$1
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
DF=$SRC/docker/Dockerfile
CI=$SRC/.ci/run

# the arguments .ci/run passes to docker/install-deps.sh (the first call)
ci_args=$(grep -E '^[^#]*bash docker/install-deps\.sh' "$CI" | head -1 | sed -E 's/.*install-deps\.sh ?//; s/ *$//')
if grep -qE '^[^#]*bash docker/install-deps\.sh' "$CI"; then ok ".ci/run installs with docker/install-deps.sh"; else ko ".ci/run no longer calls docker/install-deps.sh"; fi

if grep -qE '^COPY docker/install-deps\.sh ' "$DF"; then ok "Dockerfile copies docker/install-deps.sh"; else ko "Dockerfile does not copy docker/install-deps.sh"; fi
run=$(grep -E '^RUN .*install-deps\.sh' "$DF" | head -1)
df_args=$(printf '%s' "$run" | sed -E 's/^RUN bash [^ ]*install-deps\.sh ?//; s/ *&&.*//; s/ *$//')
default=$(grep -E '^ARG INSTALL_DEPS_ARGS=' "$DF" | sed -E 's/^ARG INSTALL_DEPS_ARGS=//')
df_args=${df_args//\$\{INSTALL_DEPS_ARGS\}/$default}
df_args=$(printf '%s' "$df_args" | sed -E 's/^ +//; s/ +$//')
if [ -n "$run" ] && [ "$df_args" = "$ci_args" ]; then
  ok "Dockerfile runs install-deps.sh with the arguments of .ci/run ('$ci_args')"
else
  ko "Dockerfile installs with '$df_args', .ci/run with '$ci_args'"
fi
if grep -qE '^CMD \["bash", ?"\.ci/run"\]' "$DF"; then ok "the image runs .ci/run"; else ko "the image's CMD is not .ci/run"; fi
if bash -n "$SRC/docker/install-deps.sh"; then ok "install-deps.sh parses"; else ko "install-deps.sh has a syntax error"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

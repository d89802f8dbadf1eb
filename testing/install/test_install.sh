#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The library as a third party gets it (docs/library.md): `cmake --install` into a temporary
# prefix, then, using nothing of the source tree but the files under test,
#   - what is installed (shared library with SONAME, archive, headers, tracewire.pc, CMake package,
#     EventsTrace, man page, completion);
#   - the example of docs/library.md built with pkg-config (shared and static) and with
#     find_package(tracewire);
#   - contrib/endpoint-agent built with PKG_CONFIG_PATH only, its configuration errors;
#   - as root, short real runs: the example and the agent each capture an exec they launch; the
#     agent with only the systemd unit's capabilities, shipping to a local collector.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR PROJECT_VERSION [COLLECTOR]
set -uo pipefail
BUILD=$1
SRC=$2
VERSION=$3
COLLECTOR=${4:-}
collector_pid=""
work=$(mktemp -d /tmp/tw-install-test.XXXXXX)
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2> /dev/null
  [ -n "$collector_pid" ] && kill "$collector_pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

P=$work/prefix
if ! cmake --install "$BUILD" --prefix "$P" > "$work/install.log" 2>&1; then
  cat "$work/install.log"
  ko "cmake --install into a temporary prefix"
  finish
fi
ok "cmake --install into a temporary prefix"
libdir=$(dirname "$(find "$P" -name tracewire.pc -path '*/pkgconfig/*' | head -1)")
libdir=${libdir%/pkgconfig}

# --- what is installed ---
check "shared library with its version" test -f "$libdir/libtracewire.so.$VERSION"
check "SONAME is libtracewire.so.${VERSION%%.*}" \
  bash -c "readelf -d '$libdir/libtracewire.so.$VERSION' | grep -q 'SONAME.*\[libtracewire.so.${VERSION%%.*}\]'"
check "libtracewire.so -> .so.${VERSION%%.*} development link" test -L "$libdir/libtracewire.so"
check "static archive" test -f "$libdir/libtracewire.a"
check "only tw_* symbols exported" bash -c "! nm -D --defined-only '$libdir/libtracewire.so' | awk '{print \$3}' | grep -v '^tw_' | grep -q ."
for h in tracewire.h tracewire_decode.h tracewire_json.h tracewire_record.h tracewire_ship.h \
  tracewire_sched.h tracewire_wire.h tracewire_config.h; do
  check "header include/tracewire/$h" test -f "$P/include/tracewire/$h"
done
# each installed header compiles on its own: it includes only what is installed next to it
for h in "$P"/include/tracewire/*.h; do
  printf '#include <tracewire/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" > "$work/hdr.c"
  if ! cc -Wall -Werror -std=gnu11 -fsyntax-only -I"$P/include" "$work/hdr.c" 2> "$work/hdr.err"; then
    ko "installed header $(basename "$h") compiles on its own: $(head -3 "$work/hdr.err")"
    hdr_fail=1
  fi
done
[ -z "${hdr_fail:-}" ] && ok "every installed header compiles on its own ($(ls "$P"/include/tracewire | wc -l) headers)"
check "CMake package config" test -f "$libdir/cmake/tracewire/tracewireConfig.cmake"
check "EventsTrace" test -x "$P/bin/EventsTrace"
check "EventsTrace man page" test -f "$P/share/man/man8/EventsTrace.8"
check "EventsTrace bash completion" test -f "$P/share/bash-completion/completions/EventsTrace"
check "installed man page is the generated one" cmp -s "$P/share/man/man8/EventsTrace.8" "$BUILD/non-GPL/EventsTrace/EventsTrace.8"

# --- pkg-config, with nothing but the temporary prefix ---
export PKG_CONFIG_PATH=$libdir/pkgconfig
unset PKG_CONFIG_LIBDIR
check "pkg-config --modversion is $VERSION" test "$(pkg-config --modversion tracewire)" = "$VERSION"
check "pkg-config --cflags points into the prefix" bash -c "pkg-config --cflags tracewire | grep -q -- '-I$P/include'"
check "tracewire.pc prefix is the install prefix" grep -qx "prefix=$P" "$libdir/pkgconfig/tracewire.pc"
for dep in libbpf libelf zlib libcurl; do
  check "Requires.private names $dep" bash -c "grep '^Requires.private:' '$libdir/pkgconfig/tracewire.pc' | grep -qw $dep"
done

# --- the example of docs/library.md ---
awk '/<!-- example: tw_example.c -->/ {want = 1; next}
     want && /^```c$/ {inside = 1; next}
     inside && /^```$/ {exit}
     inside {print}' "$SRC/docs/library.md" > "$work/tw_example.c"
check "docs/library.md has the example" grep -q tw_ctx_open "$work/tw_example.c"
CFLAGS="-Wall -Wextra -Werror -std=gnu11"
check "example builds with pkg-config (shared)" bash -c \
  "cc $CFLAGS -o '$work/ex_shared' '$work/tw_example.c' \$(pkg-config --cflags --libs tracewire) -Wl,-rpath,'$libdir'"
check "example links libtracewire.so" bash -c "ldd '$work/ex_shared' | grep -q '$libdir/libtracewire.so'"
check "example builds with pkg-config (static archive)" bash -c \
  "cc $CFLAGS -o '$work/ex_static' '$work/tw_example.c' \$(pkg-config --cflags tracewire) \
     \$(pkg-config --libs-only-L tracewire) -Wl,-Bstatic -ltracewire -Wl,-Bdynamic \
     \$(pkg-config --libs libbpf libelf zlib libcurl) -lpthread -lm"
check "static example needs no libtracewire.so" bash -c "! ldd '$work/ex_static' | grep -q libtracewire"
if command -v c++ > /dev/null; then
  printf '#include <tracewire/tracewire.h>\nint main() { struct tw_options o; tw_options_init(&o); return o.struct_size == 0; }\n' > "$work/cxx.cc"
  check "the header compiles and links as C++" bash -c \
    "c++ -Wall -Werror -o '$work/cxx' '$work/cxx.cc' \$(pkg-config --cflags --libs tracewire) -Wl,-rpath,'$libdir' && '$work/cxx'"
fi
mkdir -p "$work/cmake-consumer"
cp "$work/tw_example.c" "$work/cmake-consumer/"
cat > "$work/cmake-consumer/CMakeLists.txt" << 'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(tracewire 0.1 REQUIRED)
add_executable(ex_cmake tw_example.c)
target_link_libraries(ex_cmake PRIVATE tracewire::tracewire)
add_executable(ex_cmake_static tw_example.c)
target_link_libraries(ex_cmake_static PRIVATE tracewire::tracewire_static)
CMAKE
if cmake -S "$work/cmake-consumer" -B "$work/cmake-consumer/build" -DCMAKE_PREFIX_PATH="$P" \
    > "$work/cmake.log" 2>&1 && cmake --build "$work/cmake-consumer/build" >> "$work/cmake.log" 2>&1; then
  ok "example builds with find_package(tracewire), shared and static targets"
else
  cat "$work/cmake.log"
  ko "example builds with find_package(tracewire), shared and static targets"
fi

# --- contrib/endpoint-agent: a copy, so nothing of the tree but its own files is at hand ---
cp -r "$SRC/contrib/endpoint-agent" "$work/agent"
rm -f "$work/agent"/*.o "$work/agent/tracewire-endpoint-agent"
if make -C "$work/agent" RPATH="$libdir" CFLAGS="-O2 -g -Werror" > "$work/agent-build.log" 2>&1; then
  ok "endpoint agent builds against the prefix with pkg-config only"
else
  cat "$work/agent-build.log"
  ko "endpoint agent builds against the prefix with pkg-config only"
  finish
fi
AGENT=$work/agent/tracewire-endpoint-agent
check "agent reports the library version" bash -c "'$AGENT' --version | grep -q 'library $VERSION'"
check "the example configuration is valid" "$AGENT" -c "$work/agent/endpoint-agent.example.json" --check

# configuration errors: exit 2 and a message that points at the mistake
config_error() { # name, config text, expected text in the message
  printf '%s' "$2" > "$work/bad.json"
  "$AGENT" -c "$work/bad.json" --check > /dev/null 2> "$work/bad.err"
  local rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$3" "$work/bad.err"; then ok "$1"; else ko "$1 (rc $rc: $(cat "$work/bad.err"))"; fi
}
config_error "unknown key is named with its path" \
  '{"events": ["PROCESS_EXEC"], "filters": {"comand": ["sshd"]}, "output": {"file": "-"}}' \
  'unknown key "filters.comand"'
config_error "syntax error gives line and column" \
  $'{\n  "events": ["PROCESS_EXEC"],\n  "output": {"file": "-",}\n}\n' \
  'JSON syntax error at line 3, column'
config_error "truncated file says where it ends" \
  $'{\n  "events": ["PROCESS_EXEC"\n' \
  'ends at line 3, column 1 inside an object'
config_error "bad value names the array element" \
  '{"filters": {"uid": [0, -1]}, "output": {"file": "-"}}' \
  '"filters.uid[1]" must be'
config_error "unknown event type is named" \
  '{"events": ["PROCESS_EXCE"], "output": {"file": "-"}}' \
  '"events[0]": unknown event type "PROCESS_EXCE"'
config_error "bad shipper URL is refused" \
  '{"output": {"ship": {"url": "ftp://collector/"}}}' \
  '"output.ship.url"'
config_error "secrets are never inline" \
  '{"output": {"ship": {"url": "http://127.0.0.1:1/", "auth": "bearer"}}}' \
  'needs exactly one of "auth_file" and "auth_env"'
config_error "no output is an error" '{"events": ["process"]}' '"output" is missing'

# --- as root: real runs, a few seconds each ---
if [ "$(id -u)" -ne 0 ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
  echo "SKIP: the real runs need root and BTF (uid $(id -u))"
  [ -n "${TW_REQUIRE_BPF:-}" ] && ko "TW_REQUIRE_BPF is set but BPF cannot load here"
  finish
fi
# A command name of our own (comm filter, kernel side): other tests may run /bin/true meanwhile.
name="twinst$$"
name=${name:0:15}
cp /bin/true "$work/$name"
chmod 755 "$work" "$work/$name"

# the example: exec events for 4 s, only $name
"$work/ex_shared" 4 "$name" > "$work/ex.out" 2> "$work/ex.err" &
ex_pid=$!
for _ in $(seq 100); do grep -q "tracing with" "$work/ex.err" && break; sleep 0.1; done
"$work/$name"
wait "$ex_pid"
check "the example captures an exec it was filtered for" grep -q "\"filename\":\"$work/$name\"" "$work/ex.out"
check "the example reports nothing else" test "$(wc -l < "$work/ex.out")" -eq 1

# the agent: file output, and shipping to a local collector that wants a bearer token
# (testing/integration/collector/fault_collector.c, answering 200 to everything)
port=""
if [ -n "$COLLECTOR" ] && [ -x "$COLLECTOR" ]; then
  "$COLLECTOR" --port 0 --port-file "$work/collector.port" --store "$work/collector.store" \
    --log "$work/collector.log" --require-auth "Bearer tok-$$" 2> "$work/collector.err" &
  collector_pid=$!
  for _ in $(seq 50); do [ -s "$work/collector.port" ] && break; sleep 0.1; done
  port=$(cat "$work/collector.port" 2> /dev/null)
fi
check "the test collector listens" test -n "$port"
printf 'tok-%s\n' "$$" > "$work/token"
chmod 600 "$work/token"
cat > "$work/agent.json" << JSON
{
  "events": ["PROCESS_EXEC", "PROCESS_EXIT", "NETWORK_CONNECTION_ATTEMPTED"],
  "filters": {"comm": ["$name"]},
  "enrich": {"user_names": true, "host": "install-test", "labels": {"suite": "install"}},
  "output": {
    "file": "$work/events.ndjson",
    "ship": {"url": "http://127.0.0.1:${port:-9}/", "spool_dir": "$work/spool", "batch_max_ms": 100,
             "drain_ms": 10000, "auth": "bearer", "auth_file": "$work/token"}
  }
}
JSON
# Run it with no more capabilities than the systemd unit's bounding set: the unit's profile
# must be enough for the probes (CAP_NET_ADMIN for the network ones) and the shipper.
unit=$SRC/contrib/systemd/tracewire-endpoint-agent.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ \+/,+/g')
check "the unit names its capabilities" test -n "$caps"
setpriv --bounding-set="-all,+$caps" --inh-caps=-all "$AGENT" -c "$work/agent.json" 2> "$work/agent.err" &
agent_pid=$!
started=0
for _ in $(seq 150); do grep -q ": tracing" "$work/agent.err" && { started=1; break; }; sleep 0.1; done
check "agent starts tracing with the unit's capabilities ($caps)" test $started -eq 1
[ $started -eq 1 ] || cat "$work/agent.err"
"$work/$name"
/bin/true
sleep 0.7
# logrotate: the file is moved away, SIGHUP makes the agent write a new one
mv "$work/events.ndjson" "$work/events.1"
kill -HUP "$agent_pid"
sleep 0.7
setpriv --reuid=65534 --regid=65534 --clear-groups "$work/$name" 2> /dev/null
sleep 1
kill -TERM "$agent_pid"
wait "$agent_pid"
rc=$?
agent_pid=""
check "agent exits 0 on SIGTERM" test $rc -eq 0
check "SIGHUP reopened the output file" bash -c "grep -q '\"ruid\":65534,' '$work/events.ndjson' && ! grep -q '\"ruid\":65534,' '$work/events.1'"
ev=$work/all.ndjson
cat "$work/events.1" "$work/events.ndjson" > "$ev" 2> /dev/null
check "agent captured the exec it launched" grep -q "\"filename\":\"$work/$name\"" "$ev"
check "root's exec enriched with the user name" bash -c \
  "grep '\"event_type\":\"PROCESS_EXEC\"' '$ev' | grep '\"ruid\":0,' | grep -q '\"user\":\"root\"'"
nobody=$(getent passwd 65534 | cut -d: -f1)
check "uid 65534's exec enriched as $nobody" bash -c \
  "grep '\"event_type\":\"PROCESS_EXEC\"' '$ev' | grep '\"ruid\":65534,' | grep -q '\"user\":\"$nobody\"'"
check "exit enriched from the exec (no creds in it)" bash -c \
  "grep '\"event_type\":\"PROCESS_EXIT\"' '$ev' | grep -q '\"user\":\"root\"'"
check "host and labels on every event" bash -c \
  "[ \$(grep -c '\"host\":\"install-test\",\"labels\":{\"suite\":\"install\"}}\$' '$ev') -eq \$(wc -l < '$ev') ]"
check "the comm filter kept only $name" bash -c "! grep -v '\"comm\":\"$name\"' '$ev' | grep -q ."
check "every line is one JSON object" bash -c "[ \$(grep -c '^{.*}\$' '$ev') -eq \$(wc -l < '$ev') ] && [ \$(wc -l < '$ev') -ge 4 ]"
n_file=$(wc -l < "$ev")
n_shipped=$(grep -c . "$work/collector.store" 2> /dev/null)
check "the collector received every event written ($n_file), with the token" test "${n_shipped:-0}" -eq "$n_file"
check "shipped events carry event_id and the enrichment" bash -c \
  "grep '\"filename\":\"$work/$name\"' '$work/collector.store' | grep '\"user\":\"root\"' | grep -q '\"event_id\"'"
check "nothing left pending at exit" grep -q "at exit: shipped [0-9]*, pending 0," "$work/agent.err"
check "the token is in no output" bash -c "! grep -rq 'tok-$$' '$work/agent.err' '$ev' '$work/spool'"
[ -n "${collector_pid:-}" ] && kill "$collector_pid" 2> /dev/null

# the unit file, if systemd can check it here
if command -v systemd-analyze > /dev/null; then
  sed "s|/usr/local/sbin/tracewire-endpoint-agent|$AGENT|" "$SRC/contrib/systemd/tracewire-endpoint-agent.service" \
    > "$work/tracewire-endpoint-agent.service"
  if systemd-analyze verify "$work/tracewire-endpoint-agent.service" > "$work/verify.log" 2>&1; then
    ok "systemd-analyze verify accepts the unit"
  else
    ko "systemd-analyze verify: $(cat "$work/verify.log")"
  fi
fi
finish

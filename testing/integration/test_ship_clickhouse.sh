#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# EventsTrace --ship into a real ClickHouse (Debian's clickhouse-server, started here on
# loopback with its own configuration and data directory under a temporary directory,
# no systemd). The table comes from contrib/clickhouse/events.sql. A workload of five
# execs of /bin/true is traced with --pid-tree, shipped as a ClickHouse user with a
# password (basic auth, from a file); then:
#   - the row count in ClickHouse equals the events EventsTrace printed, and every
#     event_id is distinct;
#   - every row matches its event field by field (time, timestamps, pid block, comm,
#     exec fields, creds, cgroup, fork parent, exit code, flags);
#   - the raw column holds each printed line byte for byte (after the event_id and
#     host the shipper put in front).
# A wrong password: 401, the batch is dead-lettered. A batch with a row ClickHouse cannot
# parse (it answers 500, not 400): dead-lettered and counted, every other batch arrives.
# EventsTrace SIGKILLed with its events spooled (collector away), restarted on the same
# spool: every event it had printed arrives.
#
#   test_ship_clickhouse.sh EVENTSTRACE SHIP_FIELDS SHIP_FEED SCHEMA_SQL
set -uo pipefail
ET=$1
FIELDS=$2
FEED=$3
SCHEMA=$4
CH_SERVER=${TW_CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}
CH_CLIENT=${TW_CLICKHOUSE_CLIENT:-/usr/bin/clickhouse-client}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

if [ "$(id -u)" -ne 0 ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
	echo "SKIP: EventsTrace needs root and BTF (uid $(id -u))"
	exit 0
fi
if [ ! -x "$CH_SERVER" ] || [ ! -x "$CH_CLIENT" ]; then
	echo "FAIL: $CH_SERVER or $CH_CLIENT is missing: docker/install-deps.sh installs clickhouse-server" >&2
	exit 1
fi

T=$(mktemp -d /tmp/tw_ship_ch.XXXXXX)
chpid=
cleanup() {
	[ -n "$chpid" ] && kill "$chpid" 2>/dev/null && wait "$chpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# a port nothing listens on (the server fails clearly if it was taken meanwhile)
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}
HTTP=$(free_port)
TCP=$(free_port)
while [ "$TCP" = "$HTTP" ]; do TCP=$(free_port); done

mkdir -p "$T/data"
cat > "$T/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$T/server.log</log><errorlog>$T/server.err.log</errorlog>
    <size>10M</size><count>1</count></logger>
  <http_port>$HTTP</http_port>
  <tcp_port>$TCP</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$T/data/</path>
  <tmp_path>$T/data/tmp/</tmp_path>
  <user_files_path>$T/data/user_files/</user_files_path>
  <format_schema_path>$T/data/format_schemas/</format_schema_path>
  <users_config>$T/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>16</max_concurrent_queries>
  <timezone>UTC</timezone>
</yandex>
EOF
cat > "$T/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default>
    <shipper><password>tw-Pa55word</password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></shipper></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
EOF
"$CH_SERVER" --config-file="$T/config.xml" > "$T/server.out" 2>&1 &
chpid=$!
for _ in $(seq 300); do
	[ "$(curl -s "http://127.0.0.1:$HTTP/ping")" = "Ok." ] && break
	kill -0 "$chpid" 2>/dev/null || break
	sleep 0.1
done
if [ "$(curl -s "http://127.0.0.1:$HTTP/ping")" != "Ok." ]; then
	echo "FAIL: clickhouse-server did not start:" >&2
	tail -20 "$T/server.out" "$T/server.err.log" >&2 2>/dev/null
	exit 1
fi
echo "clickhouse-server $(curl -s "http://127.0.0.1:$HTTP/" --data-binary 'SELECT version()') on port $HTTP"
q() { curl -sS "http://127.0.0.1:$HTTP/" --data-binary "$1"; }
"$CH_CLIENT" --port "$TCP" --multiquery < "$SCHEMA" || { echo "FAIL: the schema does not load" >&2; exit 1; }

# EventsTrace logs in as "shipper" (basic auth, the password from a file)
printf 'shipper:tw-Pa55word\n' > "$T/credentials"
chmod 600 "$T/credentials"
# the workload waits for EventsTrace to be attached, then runs five execs
bash -c 'while [ ! -e "$0/go" ]; do sleep 0.02; done; for i in 1 2 3 4 5; do /bin/true tw-ship-$i; done' "$T" &
wpid=$!
"$ET" --process --no-snapshot --pid-tree "$wpid" --ship "http://127.0.0.1:$HTTP/" \
	--ship-format clickhouse --ship-spool "$T/spool" --ship-batch-ms 200 --stats=0 \
	--ship-auth basic --ship-auth-file "$T/credentials" > "$T/events.ndjson" 2> "$T/et.err" &
etpid=$!
for _ in $(seq 300); do grep -q STREAM_START "$T/events.ndjson" 2>/dev/null && break; sleep 0.1; done
touch "$T/go"
wait "$wpid"
sleep 0.5 # the exit events of the workload
kill -INT "$etpid"
wait "$etpid" || fail "EventsTrace exited with $?: $(cat "$T/et.err")"
grep 'shipping (final)' "$T/et.err" | sed 's/^ */   /'

grep -v '"event_type":"STREAM_START"' "$T/events.ndjson" | grep -v '"event_type":"STATS"' > "$T/lines"
emitted=$(wc -l < "$T/lines")
execs=$(grep -c '"argv":\["/bin/true","tw-ship-' "$T/lines")
rows=$(q 'SELECT count() FROM tracewire.events')
ids=$(q 'SELECT uniqExact(event_id) FROM tracewire.events')
echo "EventsTrace printed $emitted events ($execs execs of the workload); ClickHouse has $rows rows, $ids distinct ids"
[ "$execs" = 5 ] || fail "expected the 5 execs of the workload, saw $execs"
[ "$emitted" -ge 15 ] || fail "expected at least fork, exec and exit of each /bin/true"
[ "$rows" = "$emitted" ] || fail "row count $rows != events printed $emitted"
[ "$ids" = "$emitted" ] || fail "distinct event ids $ids != events printed $emitted"

# field by field, every row (sorted the same way on both sides)
cols="event_type, toString(time), time_ns % 1000000000, ts_mono_ns, ts_boot_ns, cpu, process_pid,
 process_tid, process_ppid, process_pgid, process_sid, process_ns_pid, process_start_time_ns, comm,
 filename, executable, argv, cwd, creds_ruid, creds_euid, creds_cap_effective, tty_major,
 namespaces_pid, namespaces_mnt, cgroup_id, cgroup_hierarchy, cgroup_path, setuid, setgid, memfd,
 parent_pid, parent_start_time_ns, exit_code, signal, core_dumped"
paths="event_type time.sec time.frac ts_mono_ns:n ts_boot_ns:n cpu:n process.pid:n process.tid:n
 process.ppid:n process.pgid:n process.sid:n process.ns_pid:n process.start_time_ns:n comm filename
 executable argv:a cwd creds.ruid:n creds.euid:n creds.cap_effective:n tty.major:n namespaces.pid:n
 namespaces.mnt:n cgroup.id:n cgroup.hierarchy cgroup.path setuid:n setgid:n memfd:n parent.pid:n
 parent.start_time_ns:n exit_code:n signal:n core_dumped:n"
q "SELECT $cols FROM tracewire.events ORDER BY ts_boot_ns, event_type FORMAT TSV" > "$T/rows.tsv"
# shellcheck disable=SC2086
"$FIELDS" $paths < "$T/lines" | sort -t "$(printf '\t')" -k5,5n -k1,1 > "$T/expected.tsv"
if ! diff "$T/expected.tsv" "$T/rows.tsv" > "$T/fields.diff"; then
	fail "rows differ from the events:"
	head -20 "$T/fields.diff" >&2
else
	echo "all $emitted rows match their events on $(echo $paths | wc -w) fields"
fi
# the raw column is the printed line, byte for byte, after the event_id and host in front
q "SELECT raw FROM tracewire.events FORMAT TSVRaw" |
	sed -E 's/^\{"event_id":"[0-9a-f-]+-[0-9]+","host":"[^"]*",/{/' | sort > "$T/raw"
sort "$T/lines" > "$T/lines.sorted"
cmp -s "$T/raw" "$T/lines.sorted" || fail "raw column differs from the printed lines"
# the event ids carry this boot's id
boot=$(cat /proc/sys/kernel/random/boot_id)
[ "$(q "SELECT countIf(startsWith(event_id, '$boot-')) FROM tracewire.events")" = "$emitted" ] ||
	fail "event ids do not start with the boot id"
[ ! -e "$T/spool/dead-letter.ndjson" ] || fail "rows were rejected: $(head -c 600 "$T/spool/dead-letter.ndjson")"
! grep -q Pa55word "$T/et.err" || fail "the password shows in EventsTrace's output"
# a wrong password: ClickHouse refuses, the batch is a dead letter (not a retry loop)
TW_WRONG=shipper:not-the-password "$FEED" --url "http://127.0.0.1:$HTTP/" --format clickhouse \
	--spool "$T/spool4" --count 10 --first 1000 --auth basic --auth-env TW_WRONG --drain-ms 10000 \
	> "$T/feed4.out" 2> "$T/feed4.err"
echo "wrong password: $(grep -E '^(dead_lettered|shipped|last_error)=' "$T/feed4.out" | tr '\n' ' ')"
[ "$(sed -n 's/^dead_lettered=//p' "$T/feed4.out")" = 10 ] || fail "a refused login did not dead-letter the batch"

# a row ClickHouse refuses: its whole batch is dead-lettered (not retried forever), the rest arrives
"$FEED" --url "http://127.0.0.1:$HTTP/" --format clickhouse --spool "$T/spool2" --count 300 \
	--batch-events 100 --bad 150 --drain-ms 20000 --backoff-ms 100,500 > "$T/feed.out" 2> "$T/feed.err" ||
	fail "the feeder did not finish: $(cat "$T/feed.err")"
dead=$(sed -n 's/^dead_lettered=//p' "$T/feed.out")
retries=$(sed -n 's/^retries=//p' "$T/feed.out")
test_rows=$(q "SELECT count() FROM tracewire.events WHERE event_type = 'TEST'")
echo "a batch with an unparsable row: $dead events dead-lettered, $test_rows rows stored, $retries retries"
[ "${dead:-0}" -gt 0 ] || fail "the bad batch was not dead-lettered"
[ "$((dead + test_rows))" = 300 ] || fail "stored + dead-lettered != 300"
grep -q '"status":500' "$T/spool2/dead-letter.ndjson" && grep -q 'Cannot parse' "$T/spool2/dead-letter.ndjson" ||
	fail "the dead-letter file lacks ClickHouse's answer"
grep -q '"n":150,"signal":"not a number"' "$T/spool2/dead-letter.ndjson" || fail "the bad row is not in the dead-letter file"
[ "$(q "SELECT countIf(n = 150) FROM (SELECT toUInt64(visitParamExtractUInt(raw, 'n')) AS n FROM tracewire.events WHERE event_type = 'TEST')")" = 0 ] ||
	fail "the bad row was stored"

# EventsTrace SIGKILLed with its events spooled (the collector was away), restarted on the
# same spool with ClickHouse back: the events it printed before dying arrive
dead_port=$(free_port)
bash -c 'while [ ! -e "$0/go2" ]; do sleep 0.02; done; for i in 1 2 3; do /bin/true tw-kill-$i; done; exec sleep 60' "$T" &
wpid=$!
"$ET" --process --no-snapshot --pid-tree "$wpid" --ship "http://127.0.0.1:$dead_port/" \
	--ship-format clickhouse --ship-spool "$T/spool3" --ship-backoff-ms 100,300 \
	> "$T/killed.ndjson" 2> "$T/killed.err" &
etpid=$!
for _ in $(seq 300); do grep -q STREAM_START "$T/killed.ndjson" 2>/dev/null && break; sleep 0.1; done
touch "$T/go2"
for _ in $(seq 100); do [ "$(grep -c 'tw-kill-' "$T/killed.ndjson")" = 3 ] && break; sleep 0.05; done
sleep 0.3
kill -KILL "$etpid"; wait "$etpid" 2>/dev/null
kill "$wpid"; wait "$wpid" 2>/dev/null
grep -v STREAM_START "$T/killed.ndjson" > "$T/killed.lines"
"$FIELDS" ts_boot_ns:n < "$T/killed.lines" | sort -n > "$T/killed.ts"
printed=$(wc -l < "$T/killed.ts")
# the restart traces nothing of its own (no such command): it only empties the spool
"$ET" --process-exec --comm tw-no-such-cmd --ship "http://127.0.0.1:$HTTP/" --ship-format clickhouse \
	--ship-spool "$T/spool3" --stats=0 > /dev/null 2> "$T/restart.err" &
etpid=$!
first=$(head -1 "$T/killed.ts")
for _ in $(seq 100); do
	[ "$(q "SELECT count() FROM tracewire.events WHERE ts_boot_ns >= $first")" -ge "$printed" ] && break
	sleep 0.1
done
kill -INT "$etpid"; wait "$etpid"
q "SELECT ts_boot_ns FROM tracewire.events WHERE ts_boot_ns >= $first ORDER BY ts_boot_ns FORMAT TSV" > "$T/arrived.ts"
echo "SIGKILLed EventsTrace printed $printed events; after the restart ClickHouse has $(wc -l < "$T/arrived.ts") of them"
echo "   $(grep 'shipping (final)' "$T/restart.err" | sed 's/^ *//')"
[ "$printed" -ge 9 ] || fail "the killed run printed too little ($printed)"
cmp -s "$T/killed.ts" "$T/arrived.ts" || fail "events printed before the SIGKILL did not arrive after the restart"

if [ "$failures" -ne 0 ]; then
	echo "test_ship_clickhouse: $failures failure(s)" >&2
	exit 1
fi
echo "test_ship_clickhouse: all passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The HTTP shipper against a fault-injecting collector (collector/fault_collector.c),
# driven through the library API by collector/ship_feed.c with numbered events.
#
#   test_ship_faults.sh FAULT_COLLECTOR SHIP_FEED
#
# 1. faults: 500s, 429 with Retry-After, a slow answer past the client's timeout,
#    a connection reset, a 503, and the collector down for DOWN_MS (default 3 s,
#    standing in for the "30 s" outage: the shipper's behaviour does not depend
#    on the length, only the test's duration does; TW_SHIP_DOWN_MS=30000 runs it
#    for real). Every event arrives; each number has exactly one event id; the
#    only duplicates are events whose first delivery was the slow answer the
#    shipper gave up on; Retry-After was waited for; connections were reused.
# 2. a 400: the batch goes to the dead-letter file with the answer, and is counted.
# 3. SIGKILL with everything spooled and the collector away; a restart delivers all.
# 4. SIGKILL in the middle of sending; a restart delivers everything committed.
# 5. HTTPS: a self-signed certificate is refused by default (retried, nothing delivered),
#    accepted with --ca-file, and with --insecure only when asked for.
# 6. Credentials: a bearer token from a file and from the environment reach the collector;
#    a wrong one gets 401, a dead letter; the secret appears in no output or dead letter.
set -u
COLLECTOR=$1
FEED=$2
DOWN_MS=${TW_SHIP_DOWN_MS:-3000}
T=$(mktemp -d /tmp/tw_ship_faults.XXXXXX)
pids=()
failures=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# start_collector NAME PLAN [PORT]: sets $port and $cpid
start_collector() {
	local name=$1 plan=$2 want=${3:-0}
	rm -f "$T/$name.port"
	"$COLLECTOR" --port "$want" --port-file "$T/$name.port" --store "$T/$name.store" \
		--log "$T/$name.log" --plan "$plan" &
	cpid=$!
	pids+=("$cpid")
	for _ in $(seq 100); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
	port=$(cat "$T/$name.port")
}

stat_of() { grep "^$1=" "$2" | cut -d= -f2; }

# lines of file A missing from file B (any order)
missing() { comm -23 <(sort -u "$1") <(sort -u "$2"); }

# numbers (the "n" of each stored line), sorted, unique
numbers() { grep -o '"n":[0-9]*' "$1" | cut -d: -f2 | sort -n -u; }

# every (event_id, n) pair must be one-to-one: a resent event keeps its id
check_ids_stable() {
	local store=$1 pairs ids ns
	pairs=$(sed -E 's/.*"event_id":"([^"]*)".*"n":([0-9]+).*/\1 \2/' "$store" | sort -u)
	ids=$(echo "$pairs" | cut -d' ' -f1 | sort -u | wc -l)
	ns=$(echo "$pairs" | cut -d' ' -f2 | sort -u | wc -l)
	[ "$(echo "$pairs" | wc -l)" = "$ids" ] && [ "$ids" = "$ns" ] ||
		fail "$store: event ids and numbers are not one-to-one ($ids ids, $ns numbers)"
}

echo "== 1. faults (collector down for $DOWN_MS ms)"
start_collector faults "ok,500x2,429:1,slow:2500,reset,503,down:$DOWN_MS,ok"
start=$(date +%s%N)
"$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool1" --count 4000 --rate 1000 \
	--batch-events 100 --batch-ms 100 --timeout-ms 1500 --backoff-ms 100,1000 --concurrency 2 \
	--drain-ms 60000 > "$T/feed1.out" 2> "$T/feed1.err" || fail "feeder did not deliver everything: $(cat "$T/feed1.out" "$T/feed1.err")"
echo "   took $(( ($(date +%s%N) - start) / 1000000 )) ms"; cat "$T/feed1.out" | tr '\n' ' '; echo
seq 0 3999 > "$T/want1"
numbers "$T/faults.store" > "$T/got1"
cmp -s "$T/want1" "$T/got1" || fail "lost events: $(missing "$T/want1" "$T/got1" | wc -l) missing, $(missing "$T/got1" "$T/want1" | wc -l) unexpected"
check_ids_stable "$T/faults.store"
[ "$(stat_of shipped "$T/feed1.out")" -ge 4000 ] || fail "shipped < 4000"
[ "$(stat_of enqueued "$T/feed1.out")" = 4000 ] || fail "enqueued != 4000"
[ "$(stat_of dropped "$T/feed1.out")" = 0 ] || fail "events dropped"
[ "$(stat_of retries "$T/feed1.out")" -ge 5 ] || fail "fewer retries than injected faults"
[ "$(stat_of pending "$T/feed1.out")" = 0 ] || fail "events still pending"
# duplicates: only events first stored by the slow request (its answer came too late)
dups=$(awk '{ if (match($0, /"event_id":"[^"]*"/)) print $1, substr($0, RSTART + 12, RLENGTH - 13) }' \
	"$T/faults.store" | awk 'NR == FNR { act[$2] = $4; next }
		{ seen[$2]++; if (seen[$2] == 1) first[$2] = $1 }
		END { for (id in seen) if (seen[id] > 1) { n++; if (act[first[id]] !~ /^slow/) bad++ }
		      printf "%d %d\n", n, bad }' "$T/faults.log" -)
echo "   duplicates: ${dups% *} (outside the at-least-once contract: ${dups#* })"
[ "${dups#* }" = 0 ] || fail "duplicates not explained by a lost answer"
# Retry-After: the batch answered 429 (Retry-After: 1) came back no sooner than 1 s later
ra=$(awk '$4 == "429:1" { t = $1; id = $6 } t && $6 == id && $1 > t && !done { print $1 - t; done = 1 }' "$T/faults.log")
echo "   retry after 429 with Retry-After 1: ${ra:-never} ms"
[ -n "$ra" ] && [ "$ra" -ge 1000 ] || fail "Retry-After not honoured (${ra:-no retry} ms)"
# the outage: nothing arrived while down
gap=$(awk '/ down:/ { t = $1; next } t && !g { g = $1 - t; print g }' "$T/faults.log")
echo "   first request after the outage: ${gap:-none} ms after it began"
[ -n "$gap" ] && [ "$gap" -ge "$DOWN_MS" ] || fail "requests arrived while the collector was down"
reqs=$(wc -l < "$T/faults.log")
conns=$(awk '{ print $3 }' "$T/faults.log" | sort -u | wc -l)
echo "   $reqs requests over $conns connections"
[ "$conns" -le $((reqs / 2)) ] || fail "connections not kept alive ($conns for $reqs requests)"

echo "== 2. a 400 goes to the dead-letter file"
start_collector dl "400"
"$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool2" --count 300 --batch-events 100 \
	--batch-ms 50 --concurrency 1 --drain-ms 20000 > "$T/feed2.out" 2> "$T/feed2.err" || fail "feeder 2 did not finish"
cat "$T/feed2.out" | tr '\n' ' '; echo
# the first request gets the 400: however many events its batch held (timing), all of them
dead=$(stat_of dead_lettered "$T/feed2.out")
[ "$dead" -gt 0 ] || fail "nothing dead-lettered"
[ "$(stat_of dead_letter_batches "$T/feed2.out")" = 1 ] || fail "dead-lettered batches != 1"
dlf="$T/spool2/dead-letter.ndjson"
[ -s "$dlf" ] || fail "no dead-letter file"
head -1 "$dlf" | grep -q '"status":400' || fail "dead-letter header lacks the status"
head -1 "$dlf" | grep -q 'rejected by the test collector' || fail "dead-letter header lacks the answer"
[ "$(grep -c '"n":' "$dlf")" = "$dead" ] || fail "dead-letter file does not hold the $dead events"
numbers "$T/dl.store" > "$T/got2"
grep -o '"n":[0-9]*' "$dlf" | cut -d: -f2 | sort -n > "$T/dead2"
seq 0 299 > "$T/want2"
[ "$(cat "$T/got2" "$T/dead2" | sort -n | uniq | wc -l)" = 300 ] && [ -z "$(missing "$T/want2" <(cat "$T/got2" "$T/dead2"))" ] &&
	[ "$(cat "$T/got2" "$T/dead2" | wc -l)" = 300 ] || fail "stored + dead-lettered is not exactly the 300 events"

echo "== 3. SIGKILL with everything spooled, collector away; restart delivers"
start_collector probe "ok"
kill "$cpid"; wait "$cpid" 2>/dev/null # a port nobody listens on now
dead_port=$port
"$FEED" --url "http://127.0.0.1:$dead_port/" --spool "$T/spool3" --count 1000 --batch-events 100 \
	--backoff-ms 100,500 --progress "$T/progress3" --drain-ms 60000 > /dev/null 2>&1 &
fpid=$!
for _ in $(seq 200); do [ "$(cat "$T/progress3" 2>/dev/null)" = 999 ] && break; sleep 0.05; done
sleep 0.3
kill -KILL "$fpid"; wait "$fpid" 2>/dev/null
ls "$T/spool3"/seg-* > /dev/null 2>&1 || fail "nothing spooled before the kill"
start_collector restart3 "ok" "$dead_port"
"$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool3" --count 0 --drain-ms 20000 \
	> "$T/feed3.out" 2> "$T/feed3.err" || fail "restarted feeder did not deliver: $(cat "$T/feed3.err")"
cat "$T/feed3.out" | tr '\n' ' '; echo
[ "$(stat_of recovered "$T/feed3.out")" = 1000 ] || fail "not all 1000 events recovered from the spool"
seq 0 999 > "$T/want3"
numbers "$T/restart3.store" > "$T/got3"
cmp -s "$T/want3" "$T/got3" || fail "events lost across the SIGKILL ($(missing "$T/want3" "$T/got3" | wc -l) missing)"
check_ids_stable "$T/restart3.store"
ls "$T/spool3"/seg-* > /dev/null 2>&1 && fail "spool not empty after delivery"

echo "== 4. SIGKILL while sending; restart delivers everything committed"
start_collector mid "slow:150x400"
"$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool4" --count 4000 --rate 2000 \
	--batch-events 50 --batch-ms 50 --progress "$T/progress4" --drain-ms 60000 > /dev/null 2>&1 &
fpid=$!
sleep 1.2
kill -KILL "$fpid"; wait "$fpid" 2>/dev/null
committed=$(cat "$T/progress4")
echo "   killed after committing events 0..$committed; $(numbers "$T/mid.store" | wc -l) had arrived"
"$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool4" --count 0 --drain-ms 30000 \
	> "$T/feed4.out" 2> "$T/feed4.err" || fail "restarted feeder 4 did not deliver"
cat "$T/feed4.out" | tr '\n' ' '; echo
numbers "$T/mid.store" > "$T/got4"
seq 0 "$committed" > "$T/want4"
[ -z "$(missing "$T/want4" "$T/got4")" ] || fail "committed events lost: $(missing "$T/want4" "$T/got4" | wc -l)"
[ "$(tail -1 "$T/got4")" -lt 4000 ] || fail "numbers beyond what was enqueued"
check_ids_stable "$T/mid.store"
echo "   $(wc -l < "$T/mid.store") lines stored for $(wc -l < "$T/got4") distinct events (at least once)"

echo "== 5. TLS verification"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" > /dev/null 2>&1 ||
	fail "openssl cannot make a test certificate"
rm -f "$T/tls.port"
"$COLLECTOR" --port 0 --port-file "$T/tls.port" --store "$T/tls.store" --log "$T/tls.log" \
	--tls-cert "$T/cert.pem" --tls-key "$T/key.pem" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$T/tls.port" ] && break; sleep 0.05; done
port=$(cat "$T/tls.port")
"$FEED" --url "https://127.0.0.1:$port/" --spool "$T/spool5" --count 20 --drain-ms 1500 \
	--backoff-ms 100,300 > "$T/feed5a.out" 2> /dev/null && fail "an unverifiable certificate was accepted"
echo "   default: shipped $(stat_of shipped "$T/feed5a.out"), last error: $(stat_of last_error "$T/feed5a.out")"
[ "$(stat_of shipped "$T/feed5a.out")" = 0 ] || fail "events went to a server whose certificate is not trusted"
grep -q "last_error=SSL certificate problem" "$T/feed5a.out" || fail "the refusal does not say why"
[ ! -s "$T/tls.store" ] || fail "the collector stored events over an unverified connection"
"$FEED" --url "https://127.0.0.1:$port/" --spool "$T/spool5" --count 0 --ca-file "$T/cert.pem" \
	--drain-ms 10000 > "$T/feed5b.out" 2> /dev/null || fail "not delivered with --ca-file"
echo "   with the CA file: recovered $(stat_of recovered "$T/feed5b.out"), shipped $(stat_of shipped "$T/feed5b.out")"
[ "$(stat_of shipped "$T/feed5b.out")" = 20 ] || fail "with the CA file, the 20 spooled events were not all shipped"
"$FEED" --url "https://localhost:$port/" --spool "$T/spool6" --count 5 --insecure 1 \
	--drain-ms 10000 > "$T/feed5c.out" 2> /dev/null || fail "not delivered with --insecure"
[ "$(numbers "$T/tls.store" | wc -l)" = 20 ] || fail "the TLS collector does not have the 20 events"

echo "== 6. credentials"
start_collector auth "ok" 
kill "$cpid"; wait "$cpid" 2>/dev/null
"$COLLECTOR" --port "$port" --port-file "$T/auth.port" --store "$T/auth.store" --log "$T/auth.log" \
	--require-auth "Bearer s3cr3t-t0ken" &
pids+=("$!")
sleep 0.3
printf 's3cr3t-t0ken\n' > "$T/token"
"$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool7" --count 50 --auth bearer --auth-file "$T/token" \
	--drain-ms 10000 > "$T/feed6a.out" 2> "$T/feed6a.err" || fail "not delivered with the token from a file"
TW_TEST_TOKEN=s3cr3t-t0ken "$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool8" --count 50 --first 50 \
	--auth bearer --auth-env TW_TEST_TOKEN --drain-ms 10000 > "$T/feed6b.out" 2> "$T/feed6b.err" ||
	fail "not delivered with the token from the environment"
printf 'wrong-token\n' > "$T/token2"
"$FEED" --url "http://127.0.0.1:$port/" --spool "$T/spool9" --count 10 --first 100 --auth bearer \
	--auth-file "$T/token2" --drain-ms 10000 > "$T/feed6c.out" 2> "$T/feed6c.err"
echo "   token from a file: shipped $(stat_of shipped "$T/feed6a.out"); from the environment: shipped $(stat_of shipped "$T/feed6b.out"); wrong token: dead-lettered $(stat_of dead_lettered "$T/feed6c.out")"
[ "$(numbers "$T/auth.store" | wc -l)" = 100 ] || fail "the collector does not have the 100 authorized events"
[ "$(stat_of dead_lettered "$T/feed6c.out")" = 10 ] || fail "a 401 did not dead-letter the batch"
grep -q '"status":401' "$T/spool9/dead-letter.ndjson" || fail "the dead letter lacks the 401"
if grep -rq -e s3cr3t -e wrong-token "$T"/feed6*.out "$T"/feed6*.err "$T/spool7" "$T/spool8" "$T/spool9"; then
	fail "a secret leaked into output, the spool or a dead letter"
fi

if [ "$failures" -ne 0 ]; then
	echo "test_ship_faults: $failures failure(s); files in $T" >&2
	trap - EXIT
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	exit 1
fi
echo "test_ship_faults: all passed"

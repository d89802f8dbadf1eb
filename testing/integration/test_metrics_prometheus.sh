#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# /metrics end to end: a real Prometheus (Debian's package, started here on loopback with its
# own config and data directory, scraping every second) scrapes EventsTrace while a workload of
# 50 execs of /bin/true and 5 HTTP requests by curl (to EventsTrace's own endpoint, so TCP flows
# exist) run under --pid-tree; once the workload has stopped and a scrape taken after that is
# stored, the counters Prometheus holds must equal the ones EventsTrace reports in its final
# STATS record, and what it printed (execs, TCP flows and their bytes). The workload runs in a
# cgroup of its own: the per-cgroup network series must equal the payload its curl flows wrote
# and read. kernel.bpf_stats_enabled is on meanwhile: every BPF object's programs (events,
# run-queue latency, network accounting) report their runs.
# Usage: test_metrics_prometheus.sh EVENTSTRACE
set -uo pipefail
ET=$1
N=50
C=5 # curl requests: TCP flows of the workload
T=$(mktemp -d)
pass=0
fail=0
etpid=
prompid=
wpid=
cg=
stats_old=

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }
cleanup() {
	[ -n "$etpid" ] && kill -INT "$etpid" 2>/dev/null && wait "$etpid" 2>/dev/null
	[ -n "$prompid" ] && kill "$prompid" 2>/dev/null && wait "$prompid" 2>/dev/null
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null
	[ -n "$stats_old" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_old"
	[ -n "$cg" ] && { wait "$wpid" 2>/dev/null; rmdir "$cg" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

if [ "$(id -u)" -ne 0 ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
	echo "SKIP: EventsTrace needs root and BTF (uid $(id -u))"
	[ -n "${TW_REQUIRE_BPF:-}" ] && { ko "TW_REQUIRE_BPF is set but BPF cannot load here"; finish; }
	exit 77
fi
for tool in prometheus promtool curl; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool missing (docker/install-deps.sh installs it)"; exit 77; }
done

# a port nothing listens on (the server fails clearly if it was taken meanwhile), below the
# ephemeral range, so that the metrics name it as the flows' service port
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}
# the value of a PromQL query with one result ("" if none): a string such as "50"
query() {
	curl -s --get --data-urlencode "query=$1" "http://127.0.0.1:$PP/api/v1/query" |
		grep -o '"value":\[[^]]*\]' | head -n1 | sed 's/.*,"\(.*\)"\]/\1/'
}
# the integer member $2 of type $1 in the final STATS record
final_stat() {
	grep '"event_type":"STATS"' "$T/events" | grep '"final":true' | tail -n1 |
		grep -o "\"$1\":{[^}]*}" | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

# --- the workload: a shell that waits, runs /bin/true N times and curl C times, and waits ---
EPORT=$(free_port)
mkfifo "$T/go" "$T/end"
sh -c 'read x < "$1"; i=0; while [ $i -lt "$3" ]; do /bin/true; i=$((i + 1)); done
	i=0; while [ $i -lt "$4" ]; do curl -s -o /dev/null "$5"; i=$((i + 1)); done; read y < "$2"' \
	sh "$T/go" "$T/end" "$N" "$C" "http://127.0.0.1:$EPORT/metrics" &
wpid=$!
# in a cgroup of its own, in the hierarchy the library names cgroups by (v2 on unified hosts,
# else the v1 cpu controller)
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	cgroot=/sys/fs/cgroup
else
	cgroot=$(awk '$0 ~ / - cgroup / && $NF ~ /(^|,)cpu(,|$)/ { print $5; exit }' /proc/self/mountinfo)
fi
cgname=tw-it-metrics-$$
cg=$cgroot/$cgname
mkdir "$cg" && echo "$wpid" >"$cg/cgroup.procs"
check "the workload is in cgroup $cg" grep -qx "$wpid" "$cg/cgroup.procs"
stats_old=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1

# --- EventsTrace with the endpoint on that port ---
"$ET" --process-exec --process-fork --process-exit --network-tcp-metrics --pid-tree "$wpid" \
	--stats-json=stream --runqlat=1 --net-bandwidth 3600 \
	--metrics-listen "127.0.0.1:$EPORT" --metrics-interval-ms 200 \
	>"$T/events" 2>"$T/err" &
etpid=$!
for _ in $(seq 300); do grep -q STREAM_START "$T/events" 2>/dev/null && break; sleep 0.1; done
EP=$(grep -o 'metrics at http://127.0.0.1:[0-9]*/metrics' "$T/err" | grep -o ':[0-9]*/' | tr -dc 0-9)
check "EventsTrace attached and says where the metrics are" test -n "$EP"
[ -n "$EP" ] || { cat "$T/err"; finish; }

# --- Prometheus, scraping it every second ---
PP=$(free_port)
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tracewire
    static_configs:
      - targets: ['127.0.0.1:$EP']
EOF
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/data" \
	--web.listen-address="127.0.0.1:$PP" --log.level=warn >"$T/prometheus.log" 2>&1 &
prompid=$!
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PP/-/ready" >/dev/null && break; sleep 0.2; done
check "Prometheus is ready on port $PP" curl -sf "http://127.0.0.1:$PP/-/ready" -o /dev/null
for _ in $(seq 100); do [ "$(query 'up{job="tracewire"}')" = 1 ] && break; sleep 0.2; done
check "Prometheus scrapes EventsTrace (up == 1)" test "$(query 'up{job="tracewire"}')" = 1

# --- run the workload, wait until EventsTrace printed all of it ---
echo go >"$T/go"
P=$((N + C)) # processes of the workload: each forks, execs and exits once
for _ in $(seq 200); do
	[ "$(grep -c '"event_type":"PROCESS_EXIT"' "$T/events")" -ge "$P" ] &&
		[ "$(grep -c '"event_type":"NETWORK_TCP_METRICS"' "$T/events")" -ge "$C" ] && break
	sleep 0.1
done
execs=$(grep -c '"event_type":"PROCESS_EXEC"' "$T/events")
check "EventsTrace printed the $P execs of the workload (got $execs)" test "$execs" -eq "$P"
grep '"event_type":"NETWORK_TCP_METRICS"' "$T/events" | grep "\"port\":$EPORT}" >"$T/flows"
flows=$(grep -c . "$T/flows")
check "EventsTrace printed the $C TCP flows of curl (got $flows)" test "$flows" -eq "$C"
flow_rx=$(grep -o '"bytes_received":[0-9]*' "$T/flows" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
flow_rtt=$(grep -o '"srtt_us":[0-9]*' "$T/flows" | cut -d: -f2 | awk '$1 > 0 { n++ } END { print n + 0 }')
flow_written=$(grep -o '"app_bytes_written":[0-9]*' "$T/flows" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
flow_read=$(grep -o '"app_bytes_read":[0-9]*' "$T/flows" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
done_at=$(date +%s.%N)

# a scrape that started after the workload stopped and after the next render (200 ms) is stored
q='timestamp(tracewire_events_received_total{type="PROCESS_EXEC"})'
for _ in $(seq 100); do
	ts=$(query "$q")
	[ -n "$ts" ] && awk -v a="$ts" -v b="$done_at" 'BEGIN { exit !(a > b + 0.3) }' && break
	sleep 0.2
done
check "a scrape after the workload ended is stored ($ts > $done_at + 0.3)" \
	awk -v a="${ts:-0}" -v b="$done_at" 'BEGIN { exit !(a > b + 0.3) }'

declare -A prom
for type in PROCESS_EXEC PROCESS_FORK PROCESS_EXIT; do
	for what in emitted received; do
		prom[$type.$what]=$(query "tracewire_events_${what}_total{type=\"$type\"}")
	done
done
prom_dropped=$(query 'sum(tracewire_events_dropped_total)')
prom_flows=$(query "tracewire_tcp_flows_total{port=\"$EPORT\",side=\"client\"}")
prom_rx=$(query "tracewire_tcp_received_bytes_total{port=\"$EPORT\",side=\"client\"}")
prom_rtt=$(query "tracewire_tcp_srtt_seconds_count{port=\"$EPORT\",side=\"client\"}")
prom_ring=$(query 'tracewire_ring_buffer_size_bytes')
prom_runq=$(query 'sum(tracewire_runqueue_latency_seconds_count)')
# every histogram's +Inf bucket equals its _count (cumulative buckets end at the total)
prom_inf_mismatch=$(curl -s --get --data-urlencode \
	'query=tracewire_runqueue_latency_seconds_bucket{le="+Inf"} != ignoring(le) tracewire_runqueue_latency_seconds_count' \
	"http://127.0.0.1:$PP/api/v1/query")
prom_scrapes=$(query 'tracewire_metrics_scrapes_total')
cgsel="cgroup=\"/$cgname\",protocol=\"tcp\""
prom_cg_tx=$(query "tracewire_cgroup_network_payload_bytes_total{$cgsel,direction=\"tx\"}")
prom_cg_rx=$(query "tracewire_cgroup_network_payload_bytes_total{$cgsel,direction=\"rx\"}")
prom_cg_wire=$(query "tracewire_cgroup_network_wire_bytes_total{$cgsel,direction=\"rx\"}")
prom_runs_sched=$(query 'tracewire_bpf_program_runs_total{program="tw_sched_switch"}')
prom_runs_na=$(query 'tracewire_bpf_program_runs_total{program="tw_na_send"}')
prom_runs_exec=$(query 'tracewire_bpf_program_runs_total{program="tw_process_exec"}')
curl -s "http://127.0.0.1:$EP/metrics" >"$T/live.prom"
check "promtool check metrics passes on the live endpoint" promtool check metrics <"$T/live.prom"
check "GET / is 404, not the metrics" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EP/")" = 404
check "POST /metrics is refused (405)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$EP/metrics")" = 405

# --- stop EventsTrace: its final STATS record is the reference ---
kill -INT "$etpid"
wait "$etpid"
rc=$?
etpid=
check "EventsTrace exits 0 on SIGINT" test "$rc" -eq 0
check "a final STATS record was printed" grep -q '"event_type":"STATS".*"final":true' "$T/events"
for type in PROCESS_EXEC PROCESS_FORK PROCESS_EXIT; do
	for what in emitted received; do
		want=$(final_stat "$type" "$what")
		check "Prometheus $type $what ${prom[$type.$what]:-none} == final STATS ${want:-none} == $P" \
			test "${prom[$type.$what]:-x}" = "${want:-y}" -a "${want:-y}" = "$P"
	done
done
check "no event dropped (Prometheus: ${prom_dropped:-none})" test "${prom_dropped:-x}" = 0
want=$(final_stat NETWORK_TCP_METRICS received)
check "Prometheus TCP flows to port $EPORT ${prom_flows:-none} == printed $flows == final STATS ${want:-none}" \
	test "${prom_flows:-x}" = "$flows" -a "$flows" = "${want:-y}"
check "Prometheus TCP bytes received ${prom_rx:-none} == sum over the printed flows $flow_rx" \
	test "${prom_rx:-x}" = "$flow_rx"
check "Prometheus RTT histogram count ${prom_rtt:-none} == flows with an srtt $flow_rtt" \
	test "${prom_rtt:-x}" = "$flow_rtt"
ring=$(grep -o '"ring_size":[0-9]*' "$T/events" | head -n1 | cut -d: -f2)
check "ring size in Prometheus ${prom_ring:-none} == STREAM_START ${ring:-none}" test "${prom_ring:-x}" = "${ring:-y}"
check "run-queue latency histograms were scraped (count ${prom_runq:-none} > 0)" \
	awk -v c="${prom_runq:-0}" 'BEGIN { exit !(c > 0) }'
check "every histogram's +Inf bucket equals its _count (the query succeeds, with no result)" \
	bash -c 'grep -q "\"status\":\"success\"" <<<"$1" && grep -q "\"result\":\[\]" <<<"$1"' sh "$prom_inf_mismatch"
# the count a scrape carries is the one of the last render before it: the earlier scrapes
check "the endpoint counted the scrapes (${prom_scrapes:-none} >= 1)" \
	awk -v c="${prom_scrapes:-0}" 'BEGIN { exit !(c >= 1) }'
check "cgroup /$cgname: TCP payload sent ${prom_cg_tx:-none} == the curl flows' app_bytes_written $flow_written" \
	test "${prom_cg_tx:-x}" = "$flow_written" -a "$flow_written" -gt 0
check "cgroup /$cgname: TCP payload received ${prom_cg_rx:-none} == the curl flows' app_bytes_read $flow_read" \
	test "${prom_cg_rx:-x}" = "$flow_read" -a "$flow_read" -gt 0
check "cgroup /$cgname: TCP wire bytes received ${prom_cg_wire:-none} > payload $flow_read (headers, ACKs)" \
	awk -v w="${prom_cg_wire:-0}" -v p="$flow_read" 'BEGIN { exit !(w > p) }'
check "program runs of every object: sched ${prom_runs_sched:-none}, accounting ${prom_runs_na:-none}, exec ${prom_runs_exec:-none} (all > 0)" \
	awk -v a="${prom_runs_sched:-0}" -v b="${prom_runs_na:-0}" -v c="${prom_runs_exec:-0}" \
	'BEGIN { exit !(a > 0 && b > 0 && c > 0) }'
echo go >"$T/end"
finish

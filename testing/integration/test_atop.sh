#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An unmodified atop (Debian trixie's, 2.9 or later: it has the netatop-bpf client; fetched by
# testing/atop/fetch-atop.sh and run through trixie's own loader and libraries) against
# EventsTrace --netatop-server: atop -K -P PRN must show, for the processes of a known loopback
# workload, exactly the send and receive calls and payload bytes they made (TCP both ways, UDP),
# the same figures as EventsTrace's own NET_BANDWIDTH records; processes that exit between two
# samples included (atop learns of them from process accounting, the counters from the server),
# and pids used twice (an exited process's entry, then a live one's: atop must get the live one's).
# testing/atop/README.md describes the steps.
#
# atop only knows the fixed path /run/netatop-bpf-socket: the test runs in a private mount
# namespace with its own tmpfs on /run, so a netatop-bpf or another agent serving the host's
# socket is neither disturbed nor consulted, and nothing is left behind in the host's /run.
#
# Usage: test_atop.sh EVENTSTRACE
# Exit 77 (skip) without root/BTF, or when the atop package cannot be downloaded.
set -uo pipefail
ET=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKIP=77

pass=0
fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

# ---------------------------------------------------------------- outside the namespace
if [ "${2:-}" != --inner ]; then
	if [ "$(id -u)" -ne 0 ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
		echo "SKIP: EventsTrace needs root and BTF (uid $(id -u))"
		[ -n "${TW_REQUIRE_BPF:-}" ] && { ko "TW_REQUIRE_BPF is set but BPF cannot load here"; finish; }
		exit $SKIP
	fi
	for tool in python3 unshare apt-get dpkg-deb; do
		command -v "$tool" >/dev/null || { ko "$tool missing (docker/install-deps.sh installs it)"; finish; }
	done
	# cached after the first run: no network then
	suite=${TW_ATOP_SUITE:-trixie} # sid: the newest atop
	atop=$(timeout 240 bash "$HERE/../atop/fetch-atop.sh" "$suite")
	rc=$?
	if [ "$rc" -eq 4 ] || [ "$rc" -eq 124 ]; then
		echo "SKIP: atop 2.9+ (Debian $suite) cannot be downloaded: the archive is unreachable" \
			"or stalled (fetch-atop.sh exit $rc); see testing/atop/README.md"
		exit $SKIP
	fi
	check "fetch-atop.sh provides $suite's atop (exit $rc: ${atop:-nothing})" test "$rc" -eq 0 -a -x "$atop"
	[ "$rc" -eq 0 ] || finish
	unshare --mount --propagation private true ||
		{ ko "unshare --mount: a private mount namespace for /run (needs CAP_SYS_ADMIN)"; finish; }
	exec unshare --mount --propagation private bash "${BASH_SOURCE[0]}" "$ET" --inner "$atop"
fi

# ---------------------------------------------------------------- inside: private /run
ATOP=$3
SOCK=/run/netatop-bpf-socket
SAMPLES=5 # atop samples, one per second; the workload runs after the first
M=200     # TCP sends of B bytes, client to server
B=50
R=1000    # one TCP reply of R bytes, server to client
K=100     # UDP datagrams of U bytes, client to server
U=64
X=300     # TCP sends of B bytes by a short-lived process to itself: it exits between samples
BULK=100  # processes that send one datagram before atop starts: the server's answer spans chunks
Q=40      # processes that each send one 2-byte datagram while atop runs, and exit
REUSE=8   # pids used twice: an exited process's, then a live one's (both in the server's table)
T=$(mktemp -d)
shadow=
etpid=
atoppid=
spid=
cpid=
rpid=

cleanup() {
	[ -n "$atoppid" ] && kill "$atoppid" 2>/dev/null && wait "$atoppid" 2>/dev/null
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	[ -n "$etpid" ] && kill -INT "$etpid" 2>/dev/null && wait "$etpid" 2>/dev/null
	umount -R /run 2>/dev/null
	[ -n "$shadow" ] && umount "$shadow" 2>/dev/null
	rm -rf --one-file-system "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

# atop reads the records of exited processes from process accounting: from atopacctd's shadow
# files in /run/pacct_shadow.d when that daemon runs, else it switches accounting on itself
# (/var/cache/atop.d, removed when it stops). Keep atopacctd's directory visible under the new
# /run, or atop would take the kernel's accounting over from the daemon.
if [ -d /run/pacct_shadow.d ]; then
	shadow=$T/pacct_shadow.d
	mkdir "$shadow" && mount --bind /run/pacct_shadow.d "$shadow" || { ko "bind /run/pacct_shadow.d"; finish; }
fi
if ! mount -t tmpfs -o mode=0755,size=1m tw-atop-run /run; then
	ko "a private tmpfs on /run in the test's mount namespace"
	finish
fi
if [ -n "$shadow" ]; then
	mkdir /run/pacct_shadow.d && mount --move "$shadow" /run/pacct_shadow.d ||
		{ ko "atopacctd's /run/pacct_shadow.d kept visible"; finish; }
fi

ver=$("$ATOP" -V 2>&1 | head -n1)
echo "atop: $ATOP"
echo "atop -V: $ver"
v=$(sed -n 's/^Version: \([0-9][0-9.]*\).*/\1/p' <<<"$ver")
check "atop -V reports 2.9 or later (${v:-none})" dpkg --compare-versions "${v:-0}" ge 2.9

# --- the workload: a server and a client process on loopback, alive through atop's samples, and
# a short-lived process; each reports its pid, its name and what its own successful calls
# returned: the figures atop must show for it ---
cat >"$T/workload.py" <<'PY'
import os, socket, sys, time

role, d = sys.argv[1], sys.argv[2]
M, B, R, K, U, X = (int(x) for x in sys.argv[3:9])


def report(name, **counts):
    with open("/proc/self/comm") as f:
        comm = f.read().strip()
    with open(os.path.join(d, name + ".tmp"), "w") as f:
        f.write(" ".join("%s=%d" % kv for kv in counts.items()) + " comm=" + comm + "\n")
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))


def wait_for(name, limit):
    for _ in range(limit * 100):
        if os.path.exists(os.path.join(d, name)):
            return
        time.sleep(0.01)
    sys.exit("workload %s: no %s after %d s" % (role, name, limit))


if role == "server":
    lt = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lt.bind(("127.0.0.1", 0))
    lt.listen(1)
    lu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lu.bind(("127.0.0.1", 0))
    with open(os.path.join(d, "ports.tmp"), "w") as f:
        f.write("%d %d\n" % (lt.getsockname()[1], lu.getsockname()[1]))
    os.rename(os.path.join(d, "ports.tmp"), os.path.join(d, "ports"))
    c, _ = lt.accept()
    rcalls = rbytes = 0
    while True:
        n = len(c.recv(65536))
        if n == 0:
            break
        rcalls += 1
        rbytes += n
    n = c.send(b"r" * R)
    assert n == R, n
    c.close()
    ucalls = ubytes = 0
    lu.settimeout(10)
    while ucalls < K:
        n = len(lu.recv(65536))
        ucalls += 1
        ubytes += n
    report("server.done", pid=os.getpid(), tcpsnd=1, tcpssz=R, tcprcv=rcalls, tcprsz=rbytes,
           udpsnd=0, udpssz=0, udprcv=ucalls, udprsz=ubytes)
elif role == "reuse":
    # REUSE pids each used by two processes: A sends 5 datagrams of 10 bytes and exits (the server
    # keeps its entry), then B gets the same pid (ns_last_pid) and sends 2 and stays alive as long
    # as this process (it reads a pipe whose writer is here). atop keys by pid only: it must be
    # given B's counters, never A's.
    def datagrams(n):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(n):
            assert u.sendto(b"r" * 10, ("127.0.0.1", 9)) == 10
    hold_r, hold_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pids = []
    for _ in range(int(sys.argv[9])):
        a = os.fork()
        if a == 0:
            datagrams(5)
            os._exit(0)
        os.waitpid(a, 0)
        for _ in range(2000):
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(a - 1))
            b = os.fork()
            if b == 0:
                if os.getpid() != a:
                    os._exit(0)
                os.close(hold_w)
                datagrams(2)
                os.write(ready_w, b"r")
                os.read(hold_r, 1)  # end of file when the coordinator dies
                os._exit(0)
            if b == a:
                os.read(ready_r, 1)
                pids.append(a)
                break
            os.waitpid(b, 0)
        else:
            sys.exit("reuse: pid %d could not be given again" % a)
    with open(os.path.join(d, "reuse.tmp"), "w") as f:
        f.write(" ".join(str(p) for p in pids) + "\n")
    os.rename(os.path.join(d, "reuse.tmp"), os.path.join(d, "reuse.done"))
elif role == "shortlived":
    # TCP to itself, then exit: atop learns of it from process accounting, and its counters
    # from the server's entry of the exited process
    lt = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lt.bind(("127.0.0.1", 0))
    lt.listen(1)
    c = socket.create_connection(lt.getsockname())
    a, _ = lt.accept()
    for _ in range(X):
        n = c.send(b"x" * B)
        assert n == B, n
    c.close()
    rcalls = rbytes = 0
    while True:
        n = len(a.recv(65536))
        if n == 0:
            break
        rcalls += 1
        rbytes += n
    report("shortlived.done", pid=os.getpid(), tcpsnd=X, tcpssz=X * B, tcprcv=rcalls,
           tcprsz=rbytes, udpsnd=0, udpssz=0, udprcv=0, udprsz=0)
    sys.exit(0)
else:
    tport, uport = (int(x) for x in open(os.path.join(d, "ports")).read().split())
    c = socket.create_connection(("127.0.0.1", tport))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with open(os.path.join(d, "client.ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    wait_for("go", 30)
    for _ in range(M):
        n = c.send(b"s" * B)
        assert n == B, n
    c.shutdown(socket.SHUT_WR)
    rcalls = rbytes = 0
    while True:
        n = len(c.recv(65536))
        if n == 0:
            break
        rcalls += 1
        rbytes += n
    c.close()
    for _ in range(K):
        n = u.sendto(b"u" * U, ("127.0.0.1", uport))
        assert n == U, n
    report("client.done", pid=os.getpid(), tcpsnd=M, tcpssz=M * B, tcprcv=rcalls, tcprsz=rbytes,
           udpsnd=K, udpssz=K * U, udprcv=0, udprsz=0)
time.sleep(120)  # alive until atop's last sample: the test kills it then
PY

# wait up to $2 tenths of a second for a file
await() { for _ in $(seq "$2"); do [ -e "$1" ] && return 0; sleep 0.1; done; [ -e "$1" ]; }
# the number of atop samples printed so far
samples() { grep -c '^SEP' "$T/atop.out" 2>/dev/null; }

# --- EventsTrace serving atop on the default path ---
"$ET" --netatop-server --net-bandwidth 1 >"$T/events" 2>"$T/et.err" &
etpid=$!
for _ in $(seq 300); do [ -S "$SOCK" ] && break; kill -0 "$etpid" 2>/dev/null || break; sleep 0.1; done
check "EventsTrace --netatop-server created $SOCK" test -S "$SOCK"
[ -S "$SOCK" ] || { cat "$T/et.err"; finish; }
mode=$(stat -c %a "$SOCK")
check "the socket is 0600 (got $mode)" test "$mode" = 600

python3 "$T/workload.py" reuse "$T" $M $B $R $K $U $X $REUSE &
rpid=$!
check "$REUSE pids were each used by an exited process and then by a live one" await "$T/reuse.done" 300
python3 "$T/workload.py" server "$T" $M $B $R $K $U $X &
spid=$!
await "$T/ports" 100
python3 "$T/workload.py" client "$T" $M $B $R $K $U $X &
cpid=$!
check "the workload's processes are ready" await "$T/client.ready" 100

# exited processes the server keeps: its answer holds more than BULK records, sent in chunks
bpids=()
# one datagram to a closed port (the ICMP error reaches nobody's recv) by a new process, $!
for _ in $(seq $BULK); do
	{ echo x >/dev/udp/127.0.0.1/9; } 2>/dev/null &
	bpids+=($!)
done
wait "${bpids[@]}"

# --- atop: parseable per-process network lines, one sample a second, no terminal ---
timeout 60 "$ATOP" -K -P PRN 1 $SAMPLES </dev/null >"$T/atop.out" 2>"$T/atop.err" &
atoppid=$!
for _ in $(seq 100); do [ "$(samples)" -ge 1 ] && break; sleep 0.1; done
check "atop printed its first sample" test "$(samples)" -ge 1
touch "$T/go"
qpids=()
for _ in $(seq $Q); do
	{ echo x >/dev/udp/127.0.0.1/9; } 2>/dev/null &
	qpids+=($!)
done
wait "${qpids[@]}"
python3 "$T/workload.py" shortlived "$T" $M $B $R $K $U $X
await "$T/client.done" 100 && await "$T/server.done" 100
at_done=$(samples)
check "the workload finished before atop's last sample (after sample $at_done of $SAMPLES)" \
	test -e "$T/server.done" -a -e "$T/shortlived.done" -a "$at_done" -lt "$SAMPLES"
wait "$atoppid"
rc=$?
atoppid=
check "atop -K -P PRN 1 $SAMPLES exits 0 (stderr: $(head -c 200 "$T/atop.err"))" test "$rc" -eq 0
check "atop printed $SAMPLES samples (got $(samples))" test "$(samples)" -eq "$SAMPLES"
kill "$cpid" "$spid" "$rpid" 2>/dev/null
wait "$cpid" "$spid" "$rpid" 2>/dev/null
cpid=
spid=
rpid=

# --- what atop showed for each workload process, against what the process did ---
# PRN fields: label host epoch date time interval pid (name) state netatop-y/n tcpsnd tcpssz
# tcprcv tcprsz udpsnd udpssz udprcv udprsz rawsnd rawrcv tgid is-process
fields=(tcpsnd tcpssz tcprcv tcprsz udpsnd udpssz udprcv udprsz)
for who in client server shortlived; do
	line=$(cat "$T/$who.done")
	pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$line")
	echo "--- $who, pid $pid: atop's PRN lines ---"
	awk -v p="$pid" '$1 == "PRN" && $7 == p' "$T/atop.out" | tee "$T/$who.prn"
	echo "--- $who: expected totals: $line"
	comm=${line##* comm=}
	if [ "$who" = shortlived ]; then
		# seen alive in a sample or not, its exit is reported once, state E, with the
		# counters the server kept for the exited process
		check "atop shows the exited short-lived process (pid $pid) once, as ($comm), state E" \
			test "$(grep -c -F " ($comm) E " "$T/$who.prn")" -eq 1
	else
		check "atop shows the $who (pid $pid) as ($comm) in every sample" \
			test "$(grep -c -F " ($comm) " "$T/$who.prn")" -eq "$SAMPLES"
		# the first sample was taken before the workload started: nothing yet
		first=$(head -n1 "$T/$who.prn" | awk '{ print $11 + $12 + $13 + $14 + $15 + $16 + $17 + $18 }')
		check "$who: no traffic in atop's sample before the workload (got $first)" test "${first:-x}" = 0
	fi
	# atop prints each interval's increase: their sum is the process's total
	i=11
	for f in "${fields[@]}"; do
		want=$(sed -n "s/.* $f=\([0-9]*\).*/\1/p" <<<"$line")
		got=$(awk -v c=$i '{ s += $c } END { print s + 0 }' "$T/$who.prn")
		check "$who $f: atop $got == expected $want" test "$got" = "$want"
		i=$((i + 1))
	done
done
check "the client made $M TCP sends of $B bytes and $K UDP sends of $U bytes" \
	grep -q "tcpsnd=$M tcpssz=$((M * B)) .* udpsnd=$K udpssz=$((K * U)) " "$T/client.done"
check "the server received all $((M * B)) TCP bytes and all $K datagrams" \
	grep -q "tcprsz=$((M * B)) .* udprcv=$K udprsz=$((K * U))" "$T/server.done"
# the Q short-lived shells: each exited during atop's run and sent one datagram of 2 bytes
awk '$1 == "PRN" && $9 == "E"' "$T/atop.out" >"$T/exited.prn"
qok=0
for pid in "${qpids[@]}"; do
	[ "$(awk -v p="$pid" '$7 == p { n++; s = s " " $15 "/" $16 } END { print n s }' "$T/exited.prn")" = "1 1/2" ] &&
		qok=$((qok + 1))
done
echo "--- the first of the $Q one-datagram processes: $(grep -m1 " ${qpids[0]} (" "$T/exited.prn")"
check "atop shows all $Q one-datagram processes as exited with 1 UDP send of 2 bytes (got $qok)" \
	test "$qok" -eq "$Q"
# a reused pid: the server holds two entries (the exited process's, 5 datagrams of 10 bytes;
# the live one's, 2 of 10), atop keys by pid only: it must show the live process's figures
rok=0
for pid in $(cat "$T/reuse.done" 2>/dev/null); do
	got=$(awk -v p="$pid" '$1 == "PRN" && $7 == p { n++; a += $15; b += $16 } END { print n + 0, a + 0, b + 0 }' "$T/atop.out")
	if [ "$got" = "$SAMPLES 2 20" ]; then
		rok=$((rok + 1))
	else
		echo "reused pid $pid: atop showed (samples, udp sends, bytes) $got, expected $SAMPLES 2 20"
	fi
done
check "atop shows the live process's figures for all $REUSE reused pids, not the exited one's (got $rok)" \
	test "$rok" -eq "$REUSE"
check "the short-lived process made $X TCP sends of $B bytes and received them all" \
	grep -q "tcpsnd=$X tcpssz=$((X * B)) tcprcv=[0-9]* tcprsz=$((X * B)) " "$T/shortlived.done"

# --- EventsTrace's own view: its NET_BANDWIDTH records, summed, give the same figures ---
kill -INT "$etpid"
wait "$etpid"
rc=$?
etpid=
check "EventsTrace exits 0 on SIGINT" test "$rc" -eq 0
answers=$(sed -n 's/.*netatop answers \([0-9]*\), refused \([0-9]*\).*/\1 \2/p' "$T/et.err")
check "EventsTrace answered atop's $SAMPLES requests, refused none (answers, refused: ${answers:-none})" \
	test "$answers" = "$SAMPLES 0"
procs=$(sed -n 's/.*network accounting: \([0-9]*\) processes.*/\1/p' "$T/et.err")
check "the server's table held more than $BULK processes (${procs:-none}): atop read answers of several chunks" \
	test "${procs:-0}" -gt "$BULK"
for who in client server shortlived; do
	pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$T/$who.done")
	nb=$(python3 - "$T/events" "$pid" <<'PY'
import json, sys
s = dict.fromkeys(("tcpsnd", "tcpssz", "tcprcv", "tcprsz", "udpsnd", "udpssz", "udprcv", "udprsz"), 0)
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("event_type") != "NET_BANDWIDTH" or r["process"]["pid"] != int(sys.argv[2]):
        continue
    for p in ("tcp", "udp"):
        for d, k in (("out", "snd"), ("in", "rcv")):
            s[p + k] += r[p][d]["calls"]
            s[p + k[0] + "sz"] += r[p][d]["payload_bytes"]
print(" ".join("%s=%d" % kv for kv in s.items()))
PY
)
	want=$(sed 's/^pid=[0-9]* //; s/ comm=.*//' "$T/$who.done")
	check "$who: EventsTrace's NET_BANDWIDTH totals ($nb) == expected ($want)" test "$nb" = "$want"
done
finish

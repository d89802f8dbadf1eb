// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "cli.h"

enum {
	OPT_PROCESS = 256,
	OPT_PROCESS_EXEC,
	OPT_PROCESS_FORK,
	OPT_PROCESS_EXIT,
	OPT_PROCESS_CREDS,
	OPT_PROCESS_SETSID,
	OPT_PROCESS_PTRACE,
	OPT_PROCESS_MEMFD,
	OPT_PROCESS_SHM,
	OPT_PROCESS_MODULE,
	OPT_PROCESS_SNAPSHOT,
	OPT_NO_SNAPSHOT,
	OPT_FILE,
	OPT_FILE_CREATE,
	OPT_FILE_DELETE,
	OPT_FILE_RENAME,
	OPT_FILE_MODIFY,
	OPT_FILE_SHMEM,
	OPT_WRITE_WINDOW,
	OPT_TTY,
	OPT_TTY_BUDGET,
	OPT_NETWORK,
	OPT_NETWORK_CONNECT,
	OPT_NETWORK_ACCEPT,
	OPT_NETWORK_CLOSE,
	OPT_NETWORK_TCP_METRICS,
	OPT_NETWORK_UDP,
	OPT_NETWORK_DNS,
	OPT_TCP_METRICS_INTERVAL,
	OPT_UDP_FLOW_INTERVAL,
	OPT_EXIT_HOLD,
	OPT_KEEP_CAPS,
	OPT_PATH_INCLUDE,
	OPT_COMM,
	OPT_EXCLUDE_COMM,
	OPT_UID,
	OPT_EXCLUDE_UID,
	OPT_CGROUP,
	OPT_EXCLUDE_CGROUP,
	OPT_PATH_EXCLUDE,
	OPT_PID,
	OPT_PID_TREE,
	OPT_EXCLUDE_PID,
	OPT_EXCLUDE_PID_TREE,
	OPT_ENV,
	OPT_RING_SIZE,
	OPT_WAKEUP,
	OPT_MAX_LATENCY,
	OPT_STATS,
	OPT_STATS_JSON,
	OPT_RECORD,
	OPT_REPLAY,
	OPT_NO_START,
	OPT_SHIP,
	OPT_SHIP_FORMAT,
	OPT_SHIP_TABLE,
	OPT_SHIP_INDEX,
	OPT_SHIP_SPOOL,
	OPT_SHIP_SPOOL_SIZE,
	OPT_SHIP_BATCH_EVENTS,
	OPT_SHIP_BATCH_SIZE,
	OPT_SHIP_BATCH_MS,
	OPT_SHIP_CONCURRENCY,
	OPT_SHIP_TIMEOUT,
	OPT_SHIP_BACKOFF,
	OPT_SHIP_NO_GZIP,
	OPT_SHIP_CA_FILE,
	OPT_SHIP_INSECURE,
	OPT_SHIP_AUTH,
	OPT_SHIP_AUTH_FILE,
	OPT_SHIP_AUTH_ENV,
	OPT_SHIP_DEAD_LETTER,
	OPT_SHIP_DRAIN,
	OPT_VERSION,
	OPT_RUNQLAT,
	OPT_RUNQLAT_HUMAN,
	OPT_RUNQLAT_CLOCK,
	OPT_NETATOP_SERVER,
	OPT_NETATOP_GROUP,
	OPT_NET_BANDWIDTH,
	OPT_NETACCT_RETAIN,
	OPT_NETACCT_MAX_PROCS,
	OPT_NET_PER_THREAD,
	OPT_NET_IFACE_TOTALS,
	OPT_METRICS_LISTEN,
	OPT_METRICS_TOP,
	OPT_METRICS_INTERVAL,
};

static const struct option long_opts[] = {
	{"all", no_argument, NULL, 'a'},
	{"process", no_argument, NULL, OPT_PROCESS},
	{"process-exec", no_argument, NULL, OPT_PROCESS_EXEC},
	{"process-fork", no_argument, NULL, OPT_PROCESS_FORK},
	{"process-exit", no_argument, NULL, OPT_PROCESS_EXIT},
	{"process-creds", no_argument, NULL, OPT_PROCESS_CREDS},
	{"process-setsid", no_argument, NULL, OPT_PROCESS_SETSID},
	{"process-ptrace", no_argument, NULL, OPT_PROCESS_PTRACE},
	{"process-memfd", no_argument, NULL, OPT_PROCESS_MEMFD},
	{"process-shm", no_argument, NULL, OPT_PROCESS_SHM},
	{"process-module", no_argument, NULL, OPT_PROCESS_MODULE},
	{"process-snapshot", no_argument, NULL, OPT_PROCESS_SNAPSHOT},
	{"no-snapshot", no_argument, NULL, OPT_NO_SNAPSHOT},
	{"file", no_argument, NULL, OPT_FILE},
	{"file-create", no_argument, NULL, OPT_FILE_CREATE},
	{"file-delete", no_argument, NULL, OPT_FILE_DELETE},
	{"file-rename", no_argument, NULL, OPT_FILE_RENAME},
	{"file-modify", no_argument, NULL, OPT_FILE_MODIFY},
	{"file-shmem", no_argument, NULL, OPT_FILE_SHMEM},
	{"write-window-ms", required_argument, NULL, OPT_WRITE_WINDOW},
	{"tty", no_argument, NULL, OPT_TTY},
	{"tty-budget", required_argument, NULL, OPT_TTY_BUDGET},
	{"network", no_argument, NULL, OPT_NETWORK},
	{"network-connect", no_argument, NULL, OPT_NETWORK_CONNECT},
	{"network-accept", no_argument, NULL, OPT_NETWORK_ACCEPT},
	{"network-close", no_argument, NULL, OPT_NETWORK_CLOSE},
	{"network-tcp-metrics", no_argument, NULL, OPT_NETWORK_TCP_METRICS},
	{"network-udp", no_argument, NULL, OPT_NETWORK_UDP},
	{"network-dns", no_argument, NULL, OPT_NETWORK_DNS},
	{"tcp-metrics-interval", required_argument, NULL, OPT_TCP_METRICS_INTERVAL},
	{"udp-flow-interval", required_argument, NULL, OPT_UDP_FLOW_INTERVAL},
	{"exit-hold-ms", required_argument, NULL, OPT_EXIT_HOLD},
	{"keep-capabilities", no_argument, NULL, OPT_KEEP_CAPS},
	{"path-include", required_argument, NULL, OPT_PATH_INCLUDE},
	{"comm", required_argument, NULL, OPT_COMM},
	{"exclude-comm", required_argument, NULL, OPT_EXCLUDE_COMM},
	{"uid", required_argument, NULL, OPT_UID},
	{"exclude-uid", required_argument, NULL, OPT_EXCLUDE_UID},
	{"cgroup", required_argument, NULL, OPT_CGROUP},
	{"exclude-cgroup", required_argument, NULL, OPT_EXCLUDE_CGROUP},
	{"path-exclude", required_argument, NULL, OPT_PATH_EXCLUDE},
	{"pid", required_argument, NULL, OPT_PID},
	{"pid-tree", required_argument, NULL, OPT_PID_TREE},
	{"exclude-pid", required_argument, NULL, OPT_EXCLUDE_PID},
	{"exclude-pid-tree", required_argument, NULL, OPT_EXCLUDE_PID_TREE},
	{"env", no_argument, NULL, OPT_ENV},
	{"ring-size", required_argument, NULL, OPT_RING_SIZE},
	{"wakeup", required_argument, NULL, OPT_WAKEUP},
	{"max-latency-ms", required_argument, NULL, OPT_MAX_LATENCY},
	{"stats", optional_argument, NULL, OPT_STATS},
	{"stats-json", optional_argument, NULL, OPT_STATS_JSON},
	{"record", required_argument, NULL, OPT_RECORD},
	{"replay", required_argument, NULL, OPT_REPLAY},
	{"no-start-record", no_argument, NULL, OPT_NO_START},
	{"ship", required_argument, NULL, OPT_SHIP},
	{"ship-format", required_argument, NULL, OPT_SHIP_FORMAT},
	{"ship-table", required_argument, NULL, OPT_SHIP_TABLE},
	{"ship-index", required_argument, NULL, OPT_SHIP_INDEX},
	{"ship-spool", required_argument, NULL, OPT_SHIP_SPOOL},
	{"ship-spool-size", required_argument, NULL, OPT_SHIP_SPOOL_SIZE},
	{"ship-batch-events", required_argument, NULL, OPT_SHIP_BATCH_EVENTS},
	{"ship-batch-size", required_argument, NULL, OPT_SHIP_BATCH_SIZE},
	{"ship-batch-ms", required_argument, NULL, OPT_SHIP_BATCH_MS},
	{"ship-concurrency", required_argument, NULL, OPT_SHIP_CONCURRENCY},
	{"ship-timeout-ms", required_argument, NULL, OPT_SHIP_TIMEOUT},
	{"ship-backoff-ms", required_argument, NULL, OPT_SHIP_BACKOFF},
	{"ship-no-gzip", no_argument, NULL, OPT_SHIP_NO_GZIP},
	{"ship-ca-file", required_argument, NULL, OPT_SHIP_CA_FILE},
	{"ship-insecure", no_argument, NULL, OPT_SHIP_INSECURE},
	{"ship-auth", required_argument, NULL, OPT_SHIP_AUTH},
	{"ship-auth-file", required_argument, NULL, OPT_SHIP_AUTH_FILE},
	{"ship-auth-env", required_argument, NULL, OPT_SHIP_AUTH_ENV},
	{"ship-dead-letter", required_argument, NULL, OPT_SHIP_DEAD_LETTER},
	{"ship-drain-ms", required_argument, NULL, OPT_SHIP_DRAIN},
	{"runqlat", optional_argument, NULL, OPT_RUNQLAT},
	{"runqlat-human", optional_argument, NULL, OPT_RUNQLAT_HUMAN},
	{"runqlat-clock", required_argument, NULL, OPT_RUNQLAT_CLOCK},
	{"netatop-server", optional_argument, NULL, OPT_NETATOP_SERVER},
	{"netatop-group", required_argument, NULL, OPT_NETATOP_GROUP},
	{"net-bandwidth", required_argument, NULL, OPT_NET_BANDWIDTH},
	{"netacct-retain", required_argument, NULL, OPT_NETACCT_RETAIN},
	{"netacct-max-procs", required_argument, NULL, OPT_NETACCT_MAX_PROCS},
	{"net-per-thread", no_argument, NULL, OPT_NET_PER_THREAD},
	{"net-interface-totals", no_argument, NULL, OPT_NET_IFACE_TOTALS},
	{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
	{"metrics-top", required_argument, NULL, OPT_METRICS_TOP},
	{"metrics-interval-ms", required_argument, NULL, OPT_METRICS_INTERVAL},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

void tw_cli_usage(FILE *f)
{
	fputs(
	    "Usage: EventsTrace [OPTIONS]\n"
	    "Trace process, file, terminal and network events with eBPF and print one JSON object per line (NDJSON) on stdout.\n"
	    "\n"
	    "Event types (default: all):\n"
	    "  -a, --all                 every event type\n"
	    "      --process             every process event below\n"
	    "      --process-exec        exec (argv, cwd, creds, tty, cgroup, namespaces)\n"
	    "      --process-fork        fork of a new process (not threads)\n"
	    "      --process-exit        exit of a process (exit code, signal, core dump)\n"
	    "      --process-creds       set*id calls that succeeded, with the new ids\n"
	    "      --process-setsid      new sessions\n"
	    "      --process-ptrace      ptrace requests (attach, seize, ...) and their target\n"
	    "      --process-memfd       memfd_create (name, flags)\n"
	    "      --process-shm         SysV shared memory shmget (key, size, flags)\n"
	    "      --process-module      kernel module loads (where the kernel has modules)\n"
	    "      --process-snapshot    at start, one event per process already running\n"
	    "      --no-snapshot         no startup snapshot, even with --all or --process\n"
	    "      --file                every file event below\n"
	    "      --file-create         open(O_CREAT), creat, mkdir, mknod, symlink, link\n"
	    "      --file-delete         unlink, rmdir\n"
	    "      --file-rename         rename family (exchange / noreplace flagged)\n"
	    "      --file-modify         writes, truncate, fallocate, chmod, chown, setxattr\n"
	    "      --file-shmem          opens of shared memory files (/dev/shm)\n"
	    "      --tty                 terminal output written to ttys and ptys (8 KiB per write)\n"
	    "      --network             every network event below\n"
	    "      --network-connect     TCP connect() attempts, IPv4 and IPv6, with the owner\n"
	    "      --network-accept      TCP connections accepted, attributed to the accepting process\n"
	    "      --network-close       TCP connections released by their owner: bytes, duration\n"
	    "      --network-tcp-metrics per TCP flow at its end: RTT, windows, retransmits, bytes\n"
	    "      --tcp-metrics-interval SECONDS  also every SECONDS for each live flow (default: off)\n"
	    "      --network-udp         UDP traffic per socket and peer: packets, bytes\n"
	    "      --network-dns         DNS queries and answers over UDP, parsed\n"
	    "      --udp-flow-interval SECONDS  UDP flows also every SECONDS while live\n"
	    "                            (default 60; 0: only when the socket is closed)\n"
	    "      --exit-hold-ms MS     a process exit waits up to MS for the close events of\n"
	    "                            its connections (default 500; 0: kernel order)\n"
	    "Scheduler (aggregated in the kernel, no event per context switch):\n"
	    "      --runqlat[=SECONDS]   run-queue latency per cgroup: one SCHED_RUNQ record per\n"
	    "                            cgroup every SECONDS (default 5) with percentiles, the\n"
	    "                            histogram, preemptions by other cgroups and cpu.stat\n"
	    "                            throttling; alone, no other events are traced\n"
	    "      --runqlat-human[=SECONDS]  the same as runqlat-style histograms (on stdout,\n"
	    "                            or on stderr when events are traced too)\n"
	    "      --runqlat-clock CLOCK  how waits are timed: own (default: stamps at wakeup\n"
	    "                            and switch, exact) or sched_info (the scheduler's\n"
	    "                            own bookkeeping: one program instead of three, sums\n"
	    "                            equal schedstat run_delay, misses the stretch from a\n"
	    "                            preempting wakeup to the switch)\n"
	    "Per-process network accounting (counters in the kernel; alone, no other events):\n"
	    "      --net-bandwidth SECONDS  one NET_BANDWIDTH record per active process every\n"
	    "                            SECONDS: payload bytes and calls (socket layer), wire\n"
	    "                            packets and bytes (IP + link header), TCP/UDP, in/out\n"
	    "      --netatop-server[=PATH]  answer atop -K (netatop-bpf protocol) on a UNIX\n"
	    "                            socket (default /run/netatop-bpf-socket), root only\n"
	    "      --netatop-group GROUP also members of GROUP may connect (socket mode 0660)\n"
	    "      --netacct-retain SECONDS  keep exited processes' counters (default 60)\n"
	    "      --netacct-max-procs N process table size (default 16384)\n"
	    "      --net-per-thread      count per thread: NET_BANDWIDTH records carry tid (the\n"
	    "                            atop server still answers per process)\n"
	    "      --net-interface-totals  with --net-bandwidth: per interface, all it carried\n"
	    "                            (ARP, non-IP, forwarded, the unexplained remainder);\n"
	    "                            one more program run per packet\n"
	    "Prometheus metrics (docs/metrics.md; off by default):\n"
	    "      --metrics-listen ADDRESS  serve /metrics over HTTP (Prometheus text format)\n"
	    "                            at PORT (on 127.0.0.1), A.B.C.D:PORT or [IPV6]:PORT;\n"
	    "                            0.0.0.0:PORT for every interface, port 0: any free one\n"
	    "      --metrics-top N       series per bounded family (processes, TCP ports,\n"
	    "                            cgroups) besides one labelled other (default 10)\n"
	    "      --metrics-interval-ms MS  render the metrics at most every MS (default 1000)\n"
	    "Filters (applied in the kernel):\n"
	    "      --pid PID             only this process (repeatable)\n"
	    "      --pid-tree PID        only this process and everything it forks from now on\n"
	    "      --exclude-pid PID     never this process\n"
	    "      --exclude-pid-tree PID  never this process nor what it forks\n"
	    "      --comm NAME           only processes with this command name (repeatable)\n"
	    "      --exclude-comm NAME   never processes with this command name\n"
	    "      --uid UID             only processes with this real uid (repeatable)\n"
	    "      --exclude-uid UID     never processes with this real uid\n"
	    "      --cgroup DIR|ID       only processes in this cgroup (its directory or id)\n"
	    "      --exclude-cgroup DIR|ID  never processes in this cgroup\n"
	    "      --path-include PREFIX only file events under PREFIX (repeatable)\n"
	    "      --path-exclude PREFIX no file events under PREFIX, e.g. /proc (repeatable)\n"
	    "Capture:\n"
	    "      --env                 include the environment in exec events (cap 40 KiB)\n"
	    "      --write-window-ms MS  one content-modify event per open file per MS, later\n"
	    "                            writes counted into the next event or the close\n"
	    "                            (default 1000; 0 reports every write)\n"
	    "      --tty-budget SIZE     at most SIZE bytes of output per tty per second, e.g. 64K;\n"
	    "                            the rest is dropped in the kernel and counted\n"
	    "Ring buffer:\n"
	    "      --ring-size SIZE      ring buffer size, e.g. 16M (default 8M, power of two)\n"
	    "      --wakeup POLICY       'kernel' (wake per caught-up event) or a byte count\n"
	    "                            such as 256K: wake once that much is pending (default)\n"
	    "      --max-latency-ms MS   drain at least this often with adaptive wakeups (default 50)\n"
	    "Statistics (never on stdout unless asked for):\n"
	    "      --stats[=SECONDS]     human statistics on stderr every SECONDS (default 10)\n"
	    "                            and a final summary on exit\n"
	    "      --stats-json[=stderr|stream]  statistics as STATS records on stderr (default)\n"
	    "                            or in the event stream on stdout\n"
	    "Privileges:\n"
	    "      --keep-capabilities   keep capabilities after attaching (by default every\n"
	    "                            capability is dropped once the probes are attached)\n"
	    "Recordings:\n"
	    "      --record FILE         also store the raw records in FILE (SIGHUP starts a new\n"
	    "                            FILE, e.g. after logrotate moved the old one)\n"
	    "      --replay FILE         decode a recording instead of tracing (no root needed)\n"
	    "Shipping to a collector over HTTP (docs/shipper.md; events still go to stdout):\n"
	    "      --ship URL            send every event to URL, at least once, spooled on disk\n"
	    "      --ship-format FMT     ndjson (default), clickhouse (JSONEachRow) or\n"
	    "                            elasticsearch (_bulk)\n"
	    "      --ship-table NAME     ClickHouse table (default tracewire.events)\n"
	    "      --ship-index NAME     Elasticsearch index (default tracewire)\n"
	    "      --ship-spool DIR      spool directory (default /var/lib/tracewire/spool)\n"
	    "      --ship-spool-size SIZE  spool limit, oldest data dropped past it (default 256M)\n"
	    "      --ship-batch-events N   events per request at most (default 5000)\n"
	    "      --ship-batch-size SIZE  uncompressed bytes per request at most (default 1M)\n"
	    "      --ship-batch-ms MS    send a partial batch after MS (default 1000)\n"
	    "      --ship-concurrency N  requests in flight at once (default 2)\n"
	    "      --ship-timeout-ms MS  per request (default 10000)\n"
	    "      --ship-backoff-ms MIN[,MAX]  retry delays, doubling from MIN up to MAX\n"
	    "                            (default 200,30000), with jitter; Retry-After wins\n"
	    "      --ship-no-gzip        send request bodies uncompressed\n"
	    "      --ship-ca-file FILE   CA certificates to verify an https collector with\n"
	    "      --ship-insecure       do not verify the collector's certificate (unsafe)\n"
	    "      --ship-auth TYPE      basic, bearer, apikey or header, with the secret from\n"
	    "      --ship-auth-file FILE   the first line of FILE (basic: user:password;\n"
	    "                            header: 'Name: value'), or from\n"
	    "      --ship-auth-env VAR   the environment variable VAR (never on the command line)\n"
	    "      --ship-dead-letter FILE  batches the collector rejected with a 4xx, with its\n"
	    "                            answer (default SPOOL/dead-letter.ndjson)\n"
	    "      --ship-drain-ms MS    on exit, keep sending for at most MS (default 5000);\n"
	    "                            the rest stays spooled for the next start\n"
	    "Other:\n"
	    "      --no-start-record     do not print the STREAM_START record first\n"
	    "  -v, --verbose             debug log on stderr, including the BPF verifier log\n"
	    "  -h, --help                this help\n"
	    "      --version             print the version\n"
	    "\n"
	    "Examples:\n"
	    "  EventsTrace --process-exec                   every exec on the host\n"
	    "  EventsTrace --pid-tree 1234 --stats          what process 1234 and its children do\n"
	    "  EventsTrace --file --path-exclude /proc --path-exclude /sys   file activity\n"
	    "  EventsTrace -a --record /tmp/t.twr | jq .    trace, keep the raw stream, pretty print\n"
	    "  EventsTrace --replay /tmp/t.twr              decode that recording again\n"
	    "  EventsTrace --process --ship http://127.0.0.1:8123/ --ship-format clickhouse\n"
	    "                                               into ClickHouse (contrib/clickhouse)\n"
	    "  EventsTrace --runqlat-human=10               run-queue latency per cgroup, every 10 s\n"
	    "  EventsTrace --netatop-server --net-bandwidth 5   atop -K shows per-process network\n"
	    "                                               columns; bandwidth every 5 s on stdout\n"
	    "  EventsTrace --process --runqlat --metrics-listen 9464 > /dev/null\n"
	    "                                               Prometheus scrapes 127.0.0.1:9464/metrics\n",
	    f);
}

int64_t tw_cli_parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	}
	if (shift) {
		end++;
		if (*end == 'i') /* KiB, MiB, GiB */
			end++;
	}
	if (toupper((unsigned char)*end) == 'B')
		end++;
	/* check before shifting: a wrapped value must not pass as a small one */
	if (*end || v > (1ull << 32) >> shift)
		return -1;
	return (int64_t)(v << shift);
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Numeric only: a name would be resolved before privileges are dropped, and a listen
   address given by name is ambiguous (several addresses, v4 or v6). */
int tw_cli_parse_listen(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
	char host[64];
	const char *port_s;
	uint32_t port;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		hl = (size_t)(close - s - 1);
		memcpy(host, s + 1, hl < sizeof(host) ? hl : 0);
		port_s = close + 2;
	} else if ((port_s = strrchr(s, ':'))) {
		hl = (size_t)(port_s - s);
		if (memchr(s, ':', hl)) /* an IPv6 address must be in brackets */
			return -1;
		memcpy(host, s, hl < sizeof(host) ? hl : 0);
		port_s++;
	} else {
		hl = strlen("127.0.0.1"); /* loopback unless told otherwise */
		memcpy(host, "127.0.0.1", hl + 1);
		port_s = s;
	}
	if (hl == 0 || hl >= sizeof(host) || parse_u32(port_s, &port) || port > 65535)
		return -1;
	host[hl] = 0;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)out;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

static int add_pid_rule(struct tw_cli *cli, const char *arg, uint32_t flags, char *err, size_t errlen)
{
	uint32_t pid;

	if (parse_u32(arg, &pid) || pid == 0) {
		snprintf(err, errlen, "invalid pid '%s'", arg);
		return -1;
	}
	if (cli->n_pid_rules == TW_CLI_MAX_PID_RULES) {
		snprintf(err, errlen, "at most %d pid rules", TW_CLI_MAX_PID_RULES);
		return -1;
	}
	cli->pid_rules[cli->n_pid_rules].pid = pid;
	cli->pid_rules[cli->n_pid_rules].flags = flags;
	cli->n_pid_rules++;
	return 0;
}

static int add_task_rule(struct tw_cli *cli, int c, const char *arg, char *err, size_t errlen)
{
	struct tw_task_rule *r;
	uint32_t n;

	if (cli->n_task_rules == TW_CLI_MAX_TASK_RULES) {
		snprintf(err, errlen, "at most %d comm/uid/cgroup rules", TW_CLI_MAX_TASK_RULES);
		return -1;
	}
	r = &cli->task_rules[cli->n_task_rules];
	memset(r, 0, sizeof(*r));
	r->exclude = c == OPT_EXCLUDE_COMM || c == OPT_EXCLUDE_UID || c == OPT_EXCLUDE_CGROUP;
	if (c == OPT_COMM || c == OPT_EXCLUDE_COMM) {
		if (!*arg || strlen(arg) > 15) {
			snprintf(err, errlen, "invalid command name '%s' (1 to 15 bytes, as the kernel keeps)", arg);
			return -1;
		}
		r->kind = TW_RULE_COMM;
		r->comm = arg;
	} else if (c == OPT_UID || c == OPT_EXCLUDE_UID) {
		if (parse_u32(arg, &n)) {
			snprintf(err, errlen, "invalid uid '%s'", arg);
			return -1;
		}
		r->kind = TW_RULE_UID;
		r->uid = n;
	} else {
		r->kind = TW_RULE_CGROUP;
		if (arg[0] == '/') {
			r->cgroup_path = arg;
		} else {
			char *end;
			errno = 0;
			r->cgroup_id = strtoull(arg, &end, 10);
			if (errno || *end || !r->cgroup_id) {
				snprintf(err, errlen, "invalid cgroup '%s' (a directory path or a numeric id)", arg);
				return -1;
			}
		}
	}
	cli->n_task_rules++;
	return 0;
}

/* MIN or MIN,MAX in milliseconds */
static int parse_backoff(struct tw_cli_ship *sh, const char *arg)
{
	char first[24];
	const char *comma = strchr(arg, ',');
	uint32_t lo, hi;

	if (comma && (size_t)(comma - arg) < sizeof(first)) {
		memcpy(first, arg, (size_t)(comma - arg));
		first[comma - arg] = 0;
		if (parse_u32(first, &lo) || parse_u32(comma + 1, &hi))
			return -1;
	} else if (comma || parse_u32(arg, &lo)) {
		return -1;
	} else {
		hi = lo > 30000 ? lo : 30000;
	}
	if (!lo || hi < lo || hi > 3600000)
		return -1;
	sh->backoff_min_ms = lo;
	sh->backoff_max_ms = hi;
	return 0;
}

static int parse_ship_option(struct tw_cli *cli, int c, const char *arg, char *err, size_t errlen)
{
	struct tw_cli_ship *sh = &cli->ship;
	int64_t size;
	uint32_t n;
	int v;

	if (c != OPT_SHIP && !sh->first_option)
		for (const struct option *o = long_opts; o->name; o++)
			if (o->val == c)
				sh->first_option = o->name;
	switch (c) {
	case OPT_SHIP:
		if (tw_ship_url_check(arg, err, errlen))
			return -1;
		sh->url = arg;
		return 0;
	case OPT_SHIP_FORMAT:
		if ((v = tw_ship_format_parse(arg)) < 0) {
			snprintf(err, errlen, "invalid --ship-format '%s' (ndjson, clickhouse or elasticsearch)", arg);
			return -1;
		}
		sh->format = (enum tw_ship_format)v;
		return 0;
	case OPT_SHIP_TABLE:
		/* it goes into an INSERT statement: a name, optionally database.name, nothing else */
		for (const char *p = arg; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.') {
				snprintf(err, errlen, "invalid --ship-table '%s' (letters, digits, _ and .)", arg);
				return -1;
			}
		if (!*arg) {
			snprintf(err, errlen, "invalid --ship-table '' (letters, digits, _ and .)");
			return -1;
		}
		sh->table = arg;
		return 0;
	case OPT_SHIP_INDEX:
		if (!*arg || strpbrk(arg, "\"\\/ ,#*?<>|")) {
			snprintf(err, errlen, "invalid --ship-index '%s'", arg);
			return -1;
		}
		sh->index = arg;
		return 0;
	case OPT_SHIP_SPOOL:
		sh->spool_dir = arg;
		return 0;
	case OPT_SHIP_SPOOL_SIZE:
		size = tw_cli_parse_size(arg);
		if (size < (1 << 20)) {
			snprintf(err, errlen, "invalid --ship-spool-size '%s' (at least 1M, e.g. 512M)", arg);
			return -1;
		}
		sh->spool_bytes = (uint64_t)size;
		return 0;
	case OPT_SHIP_BATCH_EVENTS:
		if (parse_u32(arg, &n) || n == 0 || n > 1000000) {
			snprintf(err, errlen, "invalid --ship-batch-events '%s' (1 to 1000000)", arg);
			return -1;
		}
		sh->batch_events = n;
		return 0;
	case OPT_SHIP_BATCH_SIZE:
		size = tw_cli_parse_size(arg);
		if (size < 1024 || size > (64 << 20)) {
			snprintf(err, errlen, "invalid --ship-batch-size '%s' (1K to 64M)", arg);
			return -1;
		}
		sh->batch_bytes = (uint32_t)size;
		return 0;
	case OPT_SHIP_BATCH_MS:
	case OPT_SHIP_TIMEOUT:
	case OPT_SHIP_DRAIN:
		if (parse_u32(arg, &n) || n > 3600000 || (n == 0 && c != OPT_SHIP_DRAIN)) {
			snprintf(err, errlen, "invalid --%s '%s' (%d to 3600000 ms)",
				 c == OPT_SHIP_BATCH_MS ? "ship-batch-ms" : c == OPT_SHIP_TIMEOUT ? "ship-timeout-ms" : "ship-drain-ms",
				 arg, c == OPT_SHIP_DRAIN ? 0 : 1);
			return -1;
		}
		if (c == OPT_SHIP_BATCH_MS)
			sh->batch_ms = n;
		else if (c == OPT_SHIP_TIMEOUT)
			sh->timeout_ms = n;
		else
			sh->drain_ms = n;
		return 0;
	case OPT_SHIP_CONCURRENCY:
		if (parse_u32(arg, &n) || n == 0 || n > 64) {
			snprintf(err, errlen, "invalid --ship-concurrency '%s' (1 to 64)", arg);
			return -1;
		}
		sh->concurrency = n;
		return 0;
	case OPT_SHIP_BACKOFF:
		if (parse_backoff(sh, arg)) {
			snprintf(err, errlen, "invalid --ship-backoff-ms '%s' (MIN or MIN,MAX in ms, 1 <= MIN <= MAX <= 3600000)", arg);
			return -1;
		}
		return 0;
	case OPT_SHIP_NO_GZIP:
		sh->no_gzip = true;
		return 0;
	case OPT_SHIP_CA_FILE:
		sh->ca_file = arg;
		return 0;
	case OPT_SHIP_INSECURE:
		sh->insecure = true;
		return 0;
	case OPT_SHIP_AUTH:
		if ((v = tw_ship_auth_parse(arg)) < 0) {
			snprintf(err, errlen, "invalid --ship-auth '%s' (basic, bearer, apikey or header)", arg);
			return -1;
		}
		sh->auth = (enum tw_ship_auth)v;
		return 0;
	case OPT_SHIP_AUTH_FILE:
		sh->auth_file = arg;
		return 0;
	case OPT_SHIP_AUTH_ENV:
		if (!*arg) {
			snprintf(err, errlen, "invalid --ship-auth-env '' (a variable name)");
			return -1;
		}
		sh->auth_env = arg;
		return 0;
	case OPT_SHIP_DEAD_LETTER:
		sh->dead_letter = arg;
		return 0;
	}
	return -1;
}

/* The --ship* flags fit together: checked once all are read. */
static int check_ship_options(const struct tw_cli_ship *sh, char *err, size_t errlen)
{
	if (!sh->url && sh->first_option) {
		snprintf(err, errlen, "--%s needs --ship URL", sh->first_option);
		return -1;
	}
	if (!sh->url)
		return 0;
	if (sh->auth && !sh->auth_file == !sh->auth_env) {
		snprintf(err, errlen, "--ship-auth needs exactly one of --ship-auth-file or --ship-auth-env");
		return -1;
	}
	if (!sh->auth && (sh->auth_file || sh->auth_env)) {
		snprintf(err, errlen, "--ship-auth-file and --ship-auth-env need --ship-auth TYPE");
		return -1;
	}
	if (sh->insecure && sh->ca_file) {
		snprintf(err, errlen, "--ship-insecure and --ship-ca-file contradict each other");
		return -1;
	}
	return 0;
}

static int parse_option(struct tw_cli *cli, int c, const char *arg, char *err, size_t errlen)
{
	int64_t size;
	uint32_t n;

	switch (c) {
	case 'a':
		cli->event_mask |= TW_EVENTS_ALL;
		return 0;
	case OPT_PROCESS:
		cli->event_mask |= TW_EVENTS_PROCESS;
		return 0;
	case OPT_PROCESS_EXEC:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_EXEC);
		return 0;
	case OPT_PROCESS_FORK:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_FORK);
		return 0;
	case OPT_PROCESS_EXIT:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_EXIT);
		return 0;
	case OPT_PROCESS_CREDS:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_SETUID) | TW_EVENT_BIT(TW_EVENT_PROCESS_SETGID);
		return 0;
	case OPT_PROCESS_SETSID:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_SETSID);
		return 0;
	case OPT_PROCESS_PTRACE:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_PTRACE);
		return 0;
	case OPT_PROCESS_MEMFD:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_MEMFD_CREATE);
		return 0;
	case OPT_PROCESS_SHM:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_SHMGET);
		return 0;
	case OPT_PROCESS_MODULE:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_LOAD_MODULE);
		return 0;
	case OPT_PROCESS_SNAPSHOT:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT);
		return 0;
	case OPT_NO_SNAPSHOT:
		cli->no_snapshot = true;
		return 0;
	case OPT_FILE:
		cli->event_mask |= TW_EVENTS_FILE;
		return 0;
	case OPT_FILE_CREATE:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_FILE_CREATE);
		return 0;
	case OPT_FILE_DELETE:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_FILE_DELETE);
		return 0;
	case OPT_FILE_RENAME:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_FILE_RENAME);
		return 0;
	case OPT_FILE_MODIFY:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_FILE_MODIFY);
		return 0;
	case OPT_FILE_SHMEM:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_FILE_SHMEM_OPEN);
		return 0;
	case OPT_TTY:
		cli->event_mask |= TW_EVENTS_TTY;
		return 0;
	case OPT_NETWORK:
		cli->event_mask |= TW_EVENTS_NETWORK;
		return 0;
	case OPT_NETWORK_CONNECT:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED);
		return 0;
	case OPT_NETWORK_ACCEPT:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_ACCEPTED);
		return 0;
	case OPT_NETWORK_CLOSE:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_NETWORK_CONNECTION_CLOSED);
		return 0;
	case OPT_NETWORK_TCP_METRICS:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_NETWORK_TCP_METRICS);
		return 0;
	case OPT_TTY_BUDGET:
		size = tw_cli_parse_size(arg);
		if (size <= 0) {
			snprintf(err, errlen, "invalid --tty-budget '%s' (bytes per second, e.g. 64K)", arg);
			return -1;
		}
		cli->tty_budget_bytes = (uint64_t)size;
		return 0;
	case OPT_NETWORK_UDP:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_NETWORK_UDP_FLOW);
		return 0;
	case OPT_NETWORK_DNS:
		cli->event_mask |= TW_EVENT_BIT(TW_EVENT_NETWORK_DNS);
		return 0;
	case OPT_UDP_FLOW_INTERVAL:
		if (parse_u32(arg, &n) || n > 86400) {
			snprintf(err, errlen, "invalid --udp-flow-interval '%s' (0 to 86400 seconds)", arg);
			return -1;
		}
		cli->udp_flow_interval_s = n;
		return 0;
	case OPT_KEEP_CAPS:
		cli->keep_capabilities = true;
		return 0;
	case OPT_EXIT_HOLD:
		if (parse_u32(arg, &n) || n > 60000) {
			snprintf(err, errlen, "invalid --exit-hold-ms '%s' (0 to 60000)", arg);
			return -1;
		}
		cli->exit_hold_ms = n;
		return 0;
	case OPT_TCP_METRICS_INTERVAL:
		if (parse_u32(arg, &n) || n == 0 || n > 86400) {
			snprintf(err, errlen, "invalid --tcp-metrics-interval '%s' (1 to 86400 seconds)", arg);
			return -1;
		}
		cli->tcp_metrics_interval_s = (uint32_t)n;
		return 0;
	case OPT_WRITE_WINDOW:
		if (parse_u32(arg, &n) || n > 3600000) {
			snprintf(err, errlen, "invalid --write-window-ms '%s' (0 to 3600000)", arg);
			return -1;
		}
		cli->write_window_ms = (int64_t)n;
		return 0;
	case OPT_PATH_INCLUDE:
	case OPT_PATH_EXCLUDE:
		if (arg[0] != '/' || strlen(arg) >= TW_PATH_PREFIX_MAX) {
			snprintf(err, errlen, "invalid path prefix '%s' (absolute, under %d bytes)", arg,
				 TW_PATH_PREFIX_MAX);
			return -1;
		}
		if (cli->n_path_rules == TW_CLI_MAX_PATH_RULES) {
			snprintf(err, errlen, "at most %d path prefixes", TW_CLI_MAX_PATH_RULES);
			return -1;
		}
		cli->path_rules[cli->n_path_rules].prefix = arg;
		cli->path_rules[cli->n_path_rules].exclude = c == OPT_PATH_EXCLUDE;
		cli->n_path_rules++;
		return 0;
	case OPT_COMM:
	case OPT_EXCLUDE_COMM:
	case OPT_UID:
	case OPT_EXCLUDE_UID:
	case OPT_CGROUP:
	case OPT_EXCLUDE_CGROUP:
		return add_task_rule(cli, c, arg, err, errlen);
	case OPT_PID:
		return add_pid_rule(cli, arg, TW_PID_INCLUDE, err, errlen);
	case OPT_PID_TREE:
		return add_pid_rule(cli, arg, TW_PID_INCLUDE | TW_PID_DESCENDANTS, err, errlen);
	case OPT_EXCLUDE_PID:
		return add_pid_rule(cli, arg, TW_PID_EXCLUDE, err, errlen);
	case OPT_EXCLUDE_PID_TREE:
		return add_pid_rule(cli, arg, TW_PID_EXCLUDE | TW_PID_DESCENDANTS, err, errlen);
	case OPT_ENV:
		cli->env = true;
		return 0;
	case OPT_RING_SIZE:
		size = tw_cli_parse_size(arg);
		if (size < 4096 || size > (1ll << 30)) {
			snprintf(err, errlen, "invalid --ring-size '%s' (4K to 1G, e.g. 16M)", arg);
			return -1;
		}
		cli->ring_size = (uint32_t)size;
		return 0;
	case OPT_WAKEUP:
		if (!strcmp(arg, "kernel")) {
			cli->wakeup_bytes = 0;
			return 0;
		}
		size = tw_cli_parse_size(arg);
		if (size <= 0 || size > UINT32_MAX) {
			snprintf(err, errlen, "invalid --wakeup '%s' (kernel, or a byte count like 256K)", arg);
			return -1;
		}
		cli->wakeup_bytes = size;
		return 0;
	case OPT_MAX_LATENCY:
		if (parse_u32(arg, &n) || n == 0 || n > 10000) {
			snprintf(err, errlen, "invalid --max-latency-ms '%s' (1 to 10000)", arg);
			return -1;
		}
		cli->max_latency_ms = n;
		return 0;
	case OPT_STATS:
		cli->stats = true;
		cli->stats_interval_s = 10;
		cli->stats_interval_given = arg != NULL;
		if (arg && (parse_u32(arg, &n) || n > 86400)) {
			snprintf(err, errlen, "invalid --stats interval '%s' (seconds, 0 for final only)", arg);
			return -1;
		}
		if (arg)
			cli->stats_interval_s = n;
		return 0;
	case OPT_STATS_JSON:
		if (!arg || !strcmp(arg, "stderr"))
			cli->stats_json = TW_STATS_JSON_STDERR;
		else if (!strcmp(arg, "stream"))
			cli->stats_json = TW_STATS_JSON_STREAM;
		else {
			snprintf(err, errlen, "invalid --stats-json '%s' (stderr or stream)", arg);
			return -1;
		}
		if (!cli->stats_interval_given)
			cli->stats_interval_s = 10;
		return 0;
	case OPT_RECORD:
		cli->record_path = arg;
		return 0;
	case OPT_REPLAY:
		cli->replay_path = arg;
		return 0;
	case OPT_RUNQLAT:
	case OPT_RUNQLAT_HUMAN:
		n = 5;
		if (arg && (parse_u32(arg, &n) || n == 0 || n > 86400)) {
			snprintf(err, errlen, "invalid --%s interval '%s' (1 to 86400 seconds)",
				 c == OPT_RUNQLAT ? "runqlat" : "runqlat-human", arg);
			return -1;
		}
		cli->runqlat_interval_s = n;
		cli->runqlat_human = c == OPT_RUNQLAT_HUMAN;
		return 0;
	case OPT_RUNQLAT_CLOCK:
		if (!strcmp(arg, "own")) {
			cli->runqlat_sched_info = false;
		} else if (!strcmp(arg, "sched_info")) {
			cli->runqlat_sched_info = true;
		} else {
			snprintf(err, errlen, "invalid --runqlat-clock '%s' (own or sched_info)", arg);
			return -1;
		}
		cli->runqlat_clock_set = true;
		return 0;
	case OPT_NETATOP_SERVER:
		if (arg && (arg[0] != '/' || strlen(arg) >= 100)) {
			snprintf(err, errlen, "invalid --netatop-server path '%s' (absolute, under 100 bytes)", arg);
			return -1;
		}
		cli->netatop_path = arg ? arg : "/run/netatop-bpf-socket";
		return 0;
	case OPT_NETATOP_GROUP:
		cli->netatop_group = arg;
		return 0;
	case OPT_NET_BANDWIDTH:
		if (parse_u32(arg, &n) || n == 0 || n > 86400) {
			snprintf(err, errlen, "invalid --net-bandwidth interval '%s' (1 to 86400 seconds)", arg);
			return -1;
		}
		cli->net_bandwidth_s = n;
		return 0;
	case OPT_NETACCT_RETAIN:
		if (parse_u32(arg, &n) || n > 86400) {
			snprintf(err, errlen, "invalid --netacct-retain '%s' (0 to 86400 seconds)", arg);
			return -1;
		}
		cli->netacct_retain_s = n;
		return 0;
	case OPT_NET_PER_THREAD:
		cli->netacct_per_thread = true;
		return 0;
	case OPT_NET_IFACE_TOTALS:
		cli->netacct_iface_totals = true;
		return 0;
	case OPT_NETACCT_MAX_PROCS:
		if (parse_u32(arg, &n) || n < 16 || n > (1u << 22)) {
			snprintf(err, errlen, "invalid --netacct-max-procs '%s' (16 to 4194304)", arg);
			return -1;
		}
		cli->netacct_max_procs = n;
		return 0;
	case OPT_METRICS_LISTEN:
		if (tw_cli_parse_listen(arg, &cli->metrics_addr, &cli->metrics_addrlen)) {
			snprintf(err, errlen, "invalid --metrics-listen '%s' (PORT, ADDR:PORT or [ADDR6]:PORT, "
					      "numeric)", arg);
			return -1;
		}
		cli->metrics_listen = arg;
		return 0;
	case OPT_METRICS_TOP:
		if (parse_u32(arg, &n) || n == 0 || n > 1000) {
			snprintf(err, errlen, "invalid --metrics-top '%s' (1 to 1000)", arg);
			return -1;
		}
		cli->metrics_top = n;
		cli->metrics_option = "metrics-top";
		return 0;
	case OPT_METRICS_INTERVAL:
		if (parse_u32(arg, &n) || n < 10 || n > 600000) {
			snprintf(err, errlen, "invalid --metrics-interval-ms '%s' (10 to 600000)", arg);
			return -1;
		}
		cli->metrics_interval_ms = n;
		cli->metrics_option = "metrics-interval-ms";
		return 0;
	case OPT_SHIP ... OPT_SHIP_DRAIN:
		return parse_ship_option(cli, c, arg, err, errlen);
	case OPT_NO_START:
		cli->no_start_record = true;
		return 0;
	case 'v':
		cli->verbose = true;
		return 0;
	case 'h':
		cli->help = true;
		return 0;
	case OPT_VERSION:
		cli->version = true;
		return 0;
	}
	return -1;
}

static bool is_long_option(const char *name, size_t len)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return true;
	return false;
}

int tw_cli_parse(int argc, char **argv, struct tw_cli *cli, char *err, size_t errlen)
{
	int c;

	memset(cli, 0, sizeof(*cli));
	cli->wakeup_bytes = -1;
	cli->write_window_ms = -1;
	cli->udp_flow_interval_s = -1;
	cli->exit_hold_ms = -1;
	cli->ship.drain_ms = -1;
	cli->netacct_retain_s = -1;
	cli->metrics_top = 10;
	cli->metrics_interval_ms = 1000;
	optind = 0; /* 0, not 1: glibc then also forgets a half-parsed "-xyz" group */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":avh", long_opts, NULL)) != -1) {
		if (c == '?') {
			const char *arg = argv[optind - 1];
			const char *eq = strchr(arg, '=');
			if (arg[0] == '-' && arg[1] == '-' && eq && is_long_option(arg + 2, eq - arg - 2))
				snprintf(err, errlen, "option '%.*s' takes no value", (int)(eq - arg), arg);
			else if (arg[0] == '-' && arg[1] == '-')
				snprintf(err, errlen, "unknown option '%s'", arg);
			else if (isprint(optopt))
				snprintf(err, errlen, "unknown option '-%c'", optopt);
			else
				snprintf(err, errlen, "unknown option in '%s'", arg);
			return -1;
		}
		if (c == ':') {
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (parse_option(cli, c, optarg, err, errlen))
			return -1;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (check_ship_options(&cli->ship, err, errlen))
		return -1;
	if (cli->record_path && cli->replay_path) {
		snprintf(err, errlen, "--record and --replay cannot be combined");
		return -1;
	}
	if (cli->runqlat_clock_set && !cli->runqlat_interval_s) {
		snprintf(err, errlen, "--runqlat-clock needs --runqlat or --runqlat-human");
		return -1;
	}
	if (cli->runqlat_interval_s && cli->replay_path) {
		snprintf(err, errlen, "--runqlat measures the live kernel and cannot be combined with --replay");
		return -1;
	}
	if ((cli->netatop_path || cli->net_bandwidth_s) && cli->replay_path) {
		snprintf(err, errlen, "network accounting measures the live kernel and cannot be combined with --replay");
		return -1;
	}
	if (cli->metrics_option && !cli->metrics_listen) {
		snprintf(err, errlen, "--%s needs --metrics-listen", cli->metrics_option);
		return -1;
	}
	if (cli->metrics_listen && cli->replay_path) {
		snprintf(err, errlen, "--metrics-listen serves a live agent's counters and cannot be combined with --replay");
		return -1;
	}
	if (cli->netacct_per_thread && !cli->netatop_path && !cli->net_bandwidth_s) {
		snprintf(err, errlen, "--net-per-thread needs --net-bandwidth or --netatop-server");
		return -1;
	}
	if (cli->netacct_iface_totals && !cli->net_bandwidth_s) {
		snprintf(err, errlen, "--net-interface-totals needs --net-bandwidth");
		return -1;
	}
	if (cli->netatop_group && !cli->netatop_path) {
		snprintf(err, errlen, "--netatop-group needs --netatop-server");
		return -1;
	}
	/* run-queue latency or network accounting alone trace no events; with event flags, both */
	if (!cli->event_mask && !cli->runqlat_interval_s && !cli->netatop_path && !cli->net_bandwidth_s)
		cli->event_mask = TW_EVENTS_ALL;
	if (cli->no_snapshot)
		cli->event_mask &= ~TW_EVENT_BIT(TW_EVENT_PROCESS_SNAPSHOT);
	return 0;
}

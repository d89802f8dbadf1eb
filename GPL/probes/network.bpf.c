// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP connections and per-flow metrics.
 *
 * Who owns a socket is only knowable in process context: connect() (sockops
 * TCP_CONNECT_CB runs inside it, also for io_uring) and accept() (the
 * syscall's exit). The owner goes into the flow table (tw_net.h); softirq
 * hooks (passive handshake, state changes, congestion state, resets) read
 * it from there, never from `current`.
 *
 *   connect()          sockops TCP_CONNECT_CB     ATTEMPTED, flow created
 *   handshake done     sockops *_ESTABLISHED_CB   byte baselines; passive flow created
 *   accept() returns   sys_exit_accept(4)         ACCEPTED, owner recorded
 *   owner lets go      cgroup/sock_release        CLOSED (close(), exit, last fd)
 *   state CLOSE        sockops STATE_CB           TCP_METRICS (end of the flow)
 *
 * CLOSED is tied to the owner releasing the socket, so it comes exactly once
 * for every reported open, whether the connection carried data, was reset
 * or never completed (the one exception, counted: a connection whose
 * handshake finished before we attached and that nothing gave a cookie). Nothing here runs per packet except the RTT callback,
 * which is only enabled when TCP metrics are wanted.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tracewire_wire.h"
#include "tw_emit.h"
#include "tw_file.h"
#include "tw_filter.h"
#include "tw_net.h"
#include "tw_syscall.h"
#include "tw_task.h"

char LICENSE[] SEC("license") = "GPL";

#define TW_S_IFMT 00170000
#define TW_S_IFSOCK 0140000

/* Which reports the owner (current) is entitled to; decided once, in process context. */
static __always_inline __u32 tw_net__track_for_owner(struct task_struct *task, __u32 tgid,
						      __u32 open_type)
{
	__u32 track = TW_FLOW_OWNED;

	/* connection events of this flow: its open or its CLOSED; a rejection is counted under one */
	__u32 conn_type = tw_type_wanted(open_type) ? open_type : TW_EVENT_NETWORK_CONNECTION_CLOSED;

	if (tw_type_wanted(conn_type) && !tw_filter__rejects_task(task, tgid, conn_type))
		track |= TW_FLOW_REPORT_CONN;
	if (tw_type_wanted(TW_EVENT_NETWORK_TCP_METRICS) &&
	    !tw_filter__rejects_task(task, tgid, TW_EVENT_NETWORK_TCP_METRICS))
		track |= TW_FLOW_REPORT_METRICS;
	return track;
}

static __always_inline void tw_net__record_owner(struct tw_flow *f, struct task_struct *task)
{
	tw_task__pid_info(task, &f->owner);
	BPF_CORE_READ_STR_INTO(&f->comm, task, comm);
}

/* A connection event; the header is the owner's, whichever task runs the hook. */
static __always_inline void tw_net__emit_conn(__u32 type, struct sock *sk, __u64 cookie,
					      const struct tw_flow *f)
{
	struct tw_net_connection *e = tw_reserve(type, sizeof(*e));
	struct tw_flow_bytes b;

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	tw_header__fill_pids(&e->hdr, type, &f->owner);
	e->hdr.size = sizeof(*e);
	__builtin_memcpy(e->comm, f->comm, sizeof(e->comm));
	e->tuple = f->tuple;
	e->flags = f->flags;
	e->cookie = cookie;
	e->netns = tw_sock__netns(sk);
	e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (type == TW_EVENT_NETWORK_CONNECTION_CLOSED) {
		tw_flow__bytes((struct tcp_sock *)sk, f, e->state, &b);
		e->bytes_sent = b.acked;
		e->bytes_received = b.received;
		if (f->open_ns)
			e->duration_ns = e->hdr.ts_boot_ns - f->open_ns;
	}
	tw_submit(e, type);
}

static __always_inline void tw_net__emit_metrics(struct tcp_sock *tp, __u64 cookie,
						 const struct tw_flow *f, __u32 reason, __u32 state)
{
	struct sock *sk = (struct sock *)tp;
	struct tw_tcp_metrics *m = tw_reserve(TW_EVENT_NETWORK_TCP_METRICS, sizeof(*m));
	__u32 packets_out, left_out, retrans_out, min_rtt;
	struct tw_flow_bytes b;

	if (!m)
		return;
	__builtin_memset(m, 0, sizeof(*m));
	tw_header__fill_pids(&m->hdr, TW_EVENT_NETWORK_TCP_METRICS, &f->owner);
	m->hdr.size = sizeof(*m);
	__builtin_memcpy(m->comm, f->comm, sizeof(m->comm));
	m->tuple = f->tuple;
	m->flags = f->flags;
	m->cookie = cookie;
	m->netns = tw_sock__netns(sk);
	m->reason = reason;
	m->state = state;
	m->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3; /* kept scaled by 8 */
	/* scaled by 4; before the first sample it holds the initial RTO, not a measurement */
	m->rttvar_us = m->srtt_us ? BPF_CORE_READ(tp, mdev_us) >> 2 : 0;
	min_rtt = BPF_CORE_READ(tp, rtt_min.s[0].v);
	m->min_rtt_us = min_rtt == ~0U ? 0 : min_rtt; /* ~0: no sample yet */
	m->rtt_samples = f->rtt_samples;
	m->rtt_sum_us = f->rtt_sum_us;
	m->snd_cwnd = BPF_CORE_READ(tp, snd_cwnd);
	m->snd_ssthresh = BPF_CORE_READ(tp, snd_ssthresh);
	m->rcv_wnd = BPF_CORE_READ(tp, rcv_wnd);
	m->snd_wnd = BPF_CORE_READ(tp, snd_wnd);
	m->mss = BPF_CORE_READ(tp, mss_cache);
	packets_out = BPF_CORE_READ(tp, packets_out);
	left_out = BPF_CORE_READ(tp, sacked_out) + BPF_CORE_READ(tp, lost_out);
	retrans_out = BPF_CORE_READ(tp, retrans_out);
	/* the kernel's tcp_packets_in_flight() */
	m->packets_in_flight = packets_out - left_out + retrans_out;
	m->retrans_segs = BPF_CORE_READ(tp, total_retrans);
	m->recoveries = f->recoveries;
	/* the kernel counts RTOs itself since 6.7; before, entries into Loss are the count */
	if (bpf_core_field_exists(tp->total_rto))
		m->timeouts = BPF_CORE_READ(tp, total_rto);
	else
		m->timeouts = f->losses;
	tw_flow__bytes(tp, f, state, &b);
	m->sndq_bytes = b.sndq;
	m->sndq_max_bytes = f->sndq_max > b.sndq ? f->sndq_max : b.sndq;
	m->bytes_sent = BPF_CORE_READ(tp, bytes_sent);
	m->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	m->bytes_received = BPF_CORE_READ(tp, bytes_received);
	m->bytes_retrans = BPF_CORE_READ(tp, bytes_retrans);
	m->app_bytes_written = b.written;
	m->app_bytes_read = b.read;
	m->segs_out = BPF_CORE_READ(tp, segs_out);
	m->segs_in = BPF_CORE_READ(tp, segs_in);
	if (f->open_ns)
		m->duration_ns = m->hdr.ts_boot_ns - f->open_ns;
	tw_submit(m, TW_EVENT_NETWORK_TCP_METRICS);
}

static __always_inline __u32 tw_net__cb_flags(void)
{
	__u32 flags = BPF_SOCK_OPS_STATE_CB_FLAG;
	if (tw_type_wanted(TW_EVENT_NETWORK_TCP_METRICS))
		flags |= BPF_SOCK_OPS_RTT_CB_FLAG; /* one call per RTT sample: only when asked */
	return flags;
}

/* connect(): in the connecting task, after the source port is chosen, before the SYN. */
static __always_inline void tw_net__on_connect(struct bpf_sock_ops *skops, struct tcp_sock *tp)
{
	/*
	 * Only the task helper, then reads through it: before 6.12 sockops may not
	 * call bpf_get_current_pid_tgid() or bpf_get_current_comm() (kernel matrix).
	 */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct tw_flow f = {};

	f.track = tw_net__track_for_owner(task, tgid, TW_EVENT_NETWORK_CONNECTION_ATTEMPTED);
	if (!(f.track & (TW_FLOW_REPORT_CONN | TW_FLOW_REPORT_METRICS)))
		return;
	tw_net__record_owner(&f, task);
	tw_sock__tuple((struct sock *)tp, &f.tuple, &f.flags);
	f.sk = (__u64)tp;
	f.open_ns = bpf_ktime_get_boot_ns();
	if (bpf_map_update_elem(&tw_flows, &cookie, &f, BPF_ANY)) {
		/* untracked: no CLOSED or metrics will follow; counted, the open still goes out */
		tw_stats__add_lost_scratch(TW_EVENT_NETWORK_CONNECTION_CLOSED);
	}
	bpf_sock_ops_cb_flags_set(skops, tw_net__cb_flags());
	if ((f.track & TW_FLOW_REPORT_CONN) &&
	    tw_type_wanted(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED))
		tw_net__emit_conn(TW_EVENT_NETWORK_CONNECTION_ATTEMPTED, (struct sock *)tp, cookie, &f);
}

/* The handshake completed (softirq for the passive side): baselines, and the passive flow. */
static __always_inline void tw_net__on_established(struct bpf_sock_ops *skops,
						   struct tcp_sock *tp, int passive)
{
	__u64 cookie = bpf_get_socket_cookie(skops); /* also makes skc_cookie readable at accept */
	struct tw_flow *f = bpf_map_lookup_elem(&tw_flows, &cookie), nf = {};

	if (!f) {
		if (!passive)
			return; /* not tracked (filtered, or connected before we attached) */
		nf.sk = (__u64)tp;
		nf.open_ns = bpf_ktime_get_boot_ns();
		tw_sock__tuple((struct sock *)tp, &nf.tuple, &nf.flags);
		if (bpf_map_update_elem(&tw_flows, &cookie, &nf, BPF_NOEXIST))
			tw_stats__add_lost_scratch(TW_EVENT_NETWORK_CONNECTION_CLOSED);
		f = bpf_map_lookup_elem(&tw_flows, &cookie);
		if (!f)
			return;
		bpf_sock_ops_cb_flags_set(skops, tw_net__cb_flags());
	}
	f->flags |= TW_NET_FLAG_ESTABLISHED;
	f->base_acked = tp->bytes_acked;
	f->base_received = tp->bytes_received;
}

/*
 * State changes of a tracked flow. Called before the kernel stores the new
 * state. FINs are noted as they happen (they take a sequence number each,
 * which the byte counts must leave out); at CLOSE the flow's final metrics
 * go out and it is forgotten unless a CLOSED is still owed.
 */
static __always_inline void tw_net__on_state(struct tcp_sock *tp, __u32 old_state, __u32 new_state)
{
	__u64 cookie = tw_sock__cookie((struct sock *)tp);
	struct tw_flow *f = bpf_map_lookup_elem(&tw_flows, &cookie);

	if (!f)
		return;
	if (new_state == TW_TCP_FIN_WAIT1 || new_state == TW_TCP_LAST_ACK)
		f->track |= TW_FLOW_FIN_SENT;
	if (new_state != TW_TCP_CLOSE)
		return;
	/* tcp_done() sets every shutdown bit only after this: here it still means a FIN came */
	if (BPF_CORE_READ((struct sock *)tp, sk_shutdown) & TW_RCV_SHUTDOWN)
		f->track |= TW_FLOW_FIN_RECEIVED;
	if ((f->track & TW_FLOW_REPORT_METRICS) && !(f->track & TW_FLOW_ENDED))
		tw_net__emit_metrics(tp, cookie, f, TW_TCP_METRICS_END, TW_TCP_CLOSE);
	f->track |= TW_FLOW_ENDED;
	if (!(f->track & TW_FLOW_REPORT_CONN) || (f->track & TW_FLOW_RELEASED))
		bpf_map_delete_elem(&tw_flows, &cookie);
}

static __always_inline void tw_net__on_rtt(struct bpf_sock_ops *skops, struct tcp_sock *tp)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct tw_flow *f = bpf_map_lookup_elem(&tw_flows, &cookie);
	__u32 sndq;

	if (!f)
		return;
	f->rtt_samples++;
	/*
	 * The measured RTT of this sample (us) is args[0], with the smoothed RTT
	 * (never 0 once sampled) in args[1], on kernels that pass them (6.12
	 * does). Older ones call RTT_CB with no arguments (both 0: 6.1, found by
	 * the kernel matrix's suite): there the RTT of the newest segment this
	 * ACK acknowledged (RACK's, set just before the callback) stands in.
	 */
	if (skops->args[1])
		f->rtt_sum_us += skops->args[0];
	else
		f->rtt_sum_us += BPF_CORE_READ(tp, rack.rtt_us);
	sndq = tp->write_seq - tp->snd_una;
	if ((f->track & TW_FLOW_FIN_SENT) && sndq)
		sndq--; /* the FIN takes a sequence number, not a byte */
	if (sndq > f->sndq_max)
		f->sndq_max = sndq;
}

SEC("sockops")
int tw_net_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk = skops->sk;
	struct tcp_sock *tp;
	__u32 op = skops->op;

	if (!bsk)
		return 1;
	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB && op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_STATE_CB &&
	    op != BPF_SOCK_OPS_RTT_CB)
		return 1;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return 1;
	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		tw_net__on_connect(skops, tp);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		tw_net__on_established(skops, tp, 0);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		tw_net__on_established(skops, tp, 1);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		tw_net__on_state(tp, skops->args[0], skops->args[1]);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		tw_net__on_rtt(skops, tp);
		break;
	}
	return 1;
}

/* accept()/accept4() returned a socket: its owner is the accepting task. */
SEC("tracepoint")
int tw_net_accept_exit(struct tw_sys_exit_ctx *ctx)
{
	struct task_struct *task;
	struct tw_flow *f, nf = {};
	struct socket *sock;
	struct file *file;
	struct sock *sk;
	__u64 cookie;
	__u32 tgid;

	if (ctx->ret < 0)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	file = tw_fd__file(task, ctx->ret);
	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & TW_S_IFMT) != TW_S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != TW_IPPROTO_TCP)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	cookie = tw_sock__cookie(sk);
	f = cookie ? bpf_map_lookup_elem(&tw_flows, &cookie) : NULL;
	if (!f) {
		/*
		 * Handshake done before we attached, or the flow table was full. Without
		 * a cookie (nothing has asked for one yet) the flow cannot be tracked:
		 * the ACCEPTED goes out with cookie 0, no CLOSED follows, and that is
		 * counted as a CLOSED lost.
		 */
		nf.track = tw_net__track_for_owner(task, tgid, TW_EVENT_NETWORK_CONNECTION_ACCEPTED);
		tw_net__record_owner(&nf, task);
		nf.sk = (__u64)sk;
		nf.flags = TW_NET_FLAG_ESTABLISHED;
		tw_sock__tuple(sk, &nf.tuple, &nf.flags);
		nf.base_acked = BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked);
		nf.base_received = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
		if ((!cookie || bpf_map_update_elem(&tw_flows, &cookie, &nf, BPF_NOEXIST)) &&
		    (nf.track & TW_FLOW_REPORT_CONN) &&
		    tw_type_wanted(TW_EVENT_NETWORK_CONNECTION_CLOSED))
			tw_stats__add_lost_scratch(TW_EVENT_NETWORK_CONNECTION_CLOSED);
		f = &nf;
	} else {
		f->track |= tw_net__track_for_owner(task, tgid, TW_EVENT_NETWORK_CONNECTION_ACCEPTED);
		tw_net__record_owner(f, task);
	}
	if ((f->track & TW_FLOW_REPORT_CONN) && tw_type_wanted(TW_EVENT_NETWORK_CONNECTION_ACCEPTED))
		tw_net__emit_conn(TW_EVENT_NETWORK_CONNECTION_ACCEPTED, sk, cookie, f);
	return 0;
}

/*
 * The owner let go of the socket: close() of its last descriptor, or the
 * process exiting (after sched_process_exit: the library holds that EXIT
 * back until these CLOSED events are in). Runs in the releasing task.
 */
SEC("cgroup/sock_release")
int tw_net_release(struct bpf_sock *ctx)
{
	struct tw_flow *f;
	__u64 cookie;

	if (ctx->protocol != TW_IPPROTO_TCP)
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	f = bpf_map_lookup_elem(&tw_flows, &cookie);
	if (!f)
		return 1;
	if ((f->track & TW_FLOW_REPORT_CONN) && !(f->track & TW_FLOW_RELEASED) &&
	    tw_type_wanted(TW_EVENT_NETWORK_CONNECTION_CLOSED))
		tw_net__emit_conn(TW_EVENT_NETWORK_CONNECTION_CLOSED, (struct sock *)f->sk, cookie, f);
	f->track |= TW_FLOW_RELEASED;
	if (!(f->track & TW_FLOW_REPORT_METRICS) || (f->track & TW_FLOW_ENDED))
		bpf_map_delete_elem(&tw_flows, &cookie);
	return 1;
}

/* Entries into fast recovery and into loss (RTO), for the flow's metrics. */
SEC("tp_btf/tcp_cong_state_set")
int BPF_PROG(tw_net_cong_state, struct sock *sk, __u8 ca_state)
{
	__u64 cookie = tw_sock__cookie(sk);
	struct tw_flow *f;

	if (ca_state != TW_TCP_CA_RECOVERY && ca_state != TW_TCP_CA_LOSS)
		return 0;
	f = cookie ? bpf_map_lookup_elem(&tw_flows, &cookie) : NULL;
	if (!f)
		return 0;
	if (ca_state == TW_TCP_CA_RECOVERY)
		f->recoveries++;
	else
		f->losses++;
	return 0;
}

static __always_inline void tw_net__flag(struct sock *sk, __u32 flag)
{
	__u64 cookie = sk ? tw_sock__cookie(sk) : 0;
	struct tw_flow *f = cookie ? bpf_map_lookup_elem(&tw_flows, &cookie) : NULL;

	if (f)
		f->flags |= flag;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tw_net_reset_received, struct sock *sk)
{
	tw_net__flag(sk, TW_NET_FLAG_RESET_RECEIVED);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tw_net_reset_sent, struct sock *sk)
{
	tw_net__flag(sk, TW_NET_FLAG_RESET_SENT);
	return 0;
}

/*
 * Periodic metrics of live flows (tw_options.tcp_metrics_interval_ms): the
 * library runs this iterator over the flow table at each interval. It walks
 * our own table, not the kernel's socket hash, so flows in every network
 * namespace are covered and the cost is per tracked flow, never per packet.
 */
SEC("iter/bpf_map_elem")
int tw_net_metrics_tick(struct bpf_iter__bpf_map_elem *ctx)
{
	__u64 *cookie = ctx->key;
	struct tw_flow *f = ctx->value;
	struct sock *sk;

	if (!cookie || !f)
		return 0;
	if ((f->track & (TW_FLOW_REPORT_METRICS | TW_FLOW_ENDED)) != TW_FLOW_REPORT_METRICS ||
	    !(f->flags & TW_NET_FLAG_ESTABLISHED))
		return 0;
	sk = (struct sock *)f->sk;
	tw_net__emit_metrics((struct tcp_sock *)sk, *cookie, f, TW_TCP_METRICS_INTERVAL,
			     BPF_CORE_READ(sk, __sk_common.skc_state));
	return 0;
}

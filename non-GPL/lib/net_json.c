// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "net_json.h"

const char *tw_net_addr_str(uint16_t family, const uint8_t addr[16], char *buf, size_t len)
{
	if (family == AF_INET)
		return inet_ntop(AF_INET, addr, buf, (socklen_t)len);
	if (family == AF_INET6)
		return inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
	return NULL;
}

const char *tw_tcp_state_name(uint32_t state)
{
	/* numbering of include/net/tcp_states.h, stable kernel ABI */
	static const char *const names[] = {
	    NULL,         "ESTABLISHED", "SYN_SENT",  "SYN_RECV", "FIN_WAIT1",
	    "FIN_WAIT2",  "TIME_WAIT",   "CLOSE",     "CLOSE_WAIT", "LAST_ACK",
	    "LISTEN",     "CLOSING",     "NEW_SYN_RECV",
	};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : NULL;
}

static void endpoint_json(struct tw_json *j, const char *key, uint16_t family, const uint8_t addr[16],
			  uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	tw_json_begin_object(j, key);
	if (tw_net_addr_str(family, addr, buf, sizeof(buf)))
		tw_json_raw_string(j, "address", buf);
	else
		tw_json_null(j, "address");
	tw_json_u64(j, "port", port);
	tw_json_end_object(j);
}

/* The flow's identity, common to every network type. */
static void flow_json(struct tw_json *j, const struct tw_net_tuple *t, uint64_t cookie,
		      uint32_t netns, uint32_t flags, uint32_t state)
{
	const char *st = tw_tcp_state_name(state);

	tw_json_begin_object(j, "network");
	tw_json_raw_string(j, "family", t->family == AF_INET ? "ipv4" : t->family == AF_INET6 ? "ipv6"
											      : "unknown");
	tw_json_raw_string(j, "transport", t->protocol == 6 ? "tcp" : t->protocol == 17 ? "udp"
											       : "unknown");
	endpoint_json(j, "source", t->family, t->saddr, t->sport);
	endpoint_json(j, "destination", t->family, t->daddr, t->dport);
	tw_json_bool(j, "v4_mapped", flags & TW_NET_FLAG_V4_MAPPED);
	tw_json_u64(j, "netns", netns);
	tw_json_u64(j, "cookie", cookie);
	if (st)
		tw_json_raw_string(j, "state", st);
	else
		tw_json_u64(j, "state", state);
	tw_json_bool(j, "established", flags & TW_NET_FLAG_ESTABLISHED);
	tw_json_bool(j, "reset_received", flags & TW_NET_FLAG_RESET_RECEIVED);
	tw_json_bool(j, "reset_sent", flags & TW_NET_FLAG_RESET_SENT);
	tw_json_end_object(j);
}

static void connection_json(struct tw_json *j, const struct tw_net_connection *e)
{
	tw_json_string(j, "comm", e->comm, strnlen(e->comm, sizeof(e->comm)));
	flow_json(j, &e->tuple, e->cookie, e->netns, e->flags, e->state);
	if (e->hdr.type == TW_EVENT_NETWORK_CONNECTION_CLOSED) {
		tw_json_u64(j, "bytes_sent", e->bytes_sent);
		tw_json_u64(j, "bytes_received", e->bytes_received);
		tw_json_u64(j, "duration_ns", e->duration_ns);
	}
}

static void metrics_json(struct tw_json *j, const struct tw_tcp_metrics *m)
{
	tw_json_string(j, "comm", m->comm, strnlen(m->comm, sizeof(m->comm)));
	flow_json(j, &m->tuple, m->cookie, m->netns, m->flags, m->state);
	tw_json_raw_string(j, "reason", m->reason == TW_TCP_METRICS_INTERVAL ? "interval" : "end");
	tw_json_begin_object(j, "tcp");
	tw_json_u64(j, "srtt_us", m->srtt_us);
	tw_json_u64(j, "rttvar_us", m->rttvar_us);
	tw_json_u64(j, "min_rtt_us", m->min_rtt_us);
	tw_json_u64(j, "rtt_samples", m->rtt_samples);
	tw_json_u64(j, "rtt_sum_us", m->rtt_sum_us);
	tw_json_u64(j, "snd_cwnd", m->snd_cwnd);
	tw_json_u64(j, "snd_ssthresh", m->snd_ssthresh);
	tw_json_u64(j, "rcv_wnd", m->rcv_wnd);
	tw_json_u64(j, "snd_wnd", m->snd_wnd);
	tw_json_u64(j, "mss", m->mss);
	tw_json_u64(j, "packets_in_flight", m->packets_in_flight);
	tw_json_u64(j, "retrans_segs", m->retrans_segs);
	tw_json_u64(j, "recoveries", m->recoveries);
	tw_json_u64(j, "timeouts", m->timeouts);
	tw_json_u64(j, "sndq_bytes", m->sndq_bytes);
	tw_json_u64(j, "sndq_max_bytes", m->sndq_max_bytes);
	tw_json_u64(j, "bytes_sent", m->bytes_sent);
	tw_json_u64(j, "bytes_acked", m->bytes_acked);
	tw_json_u64(j, "bytes_received", m->bytes_received);
	tw_json_u64(j, "bytes_retrans", m->bytes_retrans);
	tw_json_u64(j, "app_bytes_written", m->app_bytes_written);
	tw_json_u64(j, "app_bytes_read", m->app_bytes_read);
	tw_json_u64(j, "segs_out", m->segs_out);
	tw_json_u64(j, "segs_in", m->segs_in);
	tw_json_end_object(j);
	tw_json_u64(j, "duration_ns", m->duration_ns);
}

/* The identity of a UDP flow or datagram: no TCP state. */
static void udp_json(struct tw_json *j, const struct tw_net_tuple *t, uint64_t cookie,
		     uint32_t netns, uint32_t flags)
{
	tw_json_begin_object(j, "network");
	tw_json_raw_string(j, "family", t->family == AF_INET ? "ipv4" : t->family == AF_INET6 ? "ipv6"
											      : "unknown");
	tw_json_raw_string(j, "transport", "udp");
	endpoint_json(j, "source", t->family, t->saddr, t->sport);
	endpoint_json(j, "destination", t->family, t->daddr, t->dport);
	tw_json_u64(j, "netns", netns);
	tw_json_u64(j, "cookie", cookie);
	tw_json_bool(j, "owner_unknown", flags & TW_NET_FLAG_OWNER_UNKNOWN);
	tw_json_end_object(j);
}

static void udp_flow_json(struct tw_json *j, const struct tw_udp_flow *f)
{
	tw_json_string(j, "comm", f->comm, strnlen(f->comm, sizeof(f->comm)));
	udp_json(j, &f->tuple, f->cookie, f->netns, f->flags);
	tw_json_raw_string(j, "reason", f->reason == TW_UDP_FLOW_INTERVAL ? "interval"
					: f->reason == TW_UDP_FLOW_STOP   ? "stop"
									  : "closed");
	tw_json_u64(j, "packets_out", f->packets_out);
	tw_json_u64(j, "bytes_out", f->bytes_out);
	tw_json_u64(j, "packets_in", f->packets_in);
	tw_json_u64(j, "bytes_in", f->bytes_in);
	tw_json_u64(j, "first_boot_ns", f->first_ns);
	tw_json_u64(j, "last_boot_ns", f->last_ns);
}

static void type_json(struct tw_json *j, const char *key, uint16_t type)
{
	const char *name = tw_dns_type_name(type);
	if (name)
		tw_json_raw_string(j, key, name);
	else
		tw_json_u64(j, key, type);
}

/* Parsed DNS message; the library has already dropped (and counted) malformed ones. */
static void dns_json(struct tw_json *j, const struct tw_event *ev)
{
	const struct tw_dns_message *m = (const void *)ev->hdr;
	const struct tw_varlen_field *f = tw_event_field(ev, TW_FIELD_DNS_PACKET);
	static __thread struct tw_dns_message_parsed d; /* large: not on the stack */
	const char *rcode;
	int err;

	tw_json_string(j, "comm", m->comm, strnlen(m->comm, sizeof(m->comm)));
	udp_json(j, &m->tuple, m->cookie, m->netns, m->flags);
	tw_json_begin_object(j, "dns");
	tw_json_raw_string(j, "direction", m->direction == TW_DNS_SENT ? "sent" : "received");
	tw_json_u64(j, "length", m->orig_len);
	tw_json_bool(j, "capture_truncated", f && (f->flags & TW_FIELD_FLAG_TRUNCATED));
	err = f ? tw_dns_parse((const uint8_t *)f->data, f->size, f->flags & TW_FIELD_FLAG_TRUNCATED, &d)
		: -TW_DNS_SHORT;
	if (err) {
		tw_json_raw_string(j, "error", err == -TW_DNS_BAD_NAME    ? "bad name"
					       : err == -TW_DNS_BAD_RDATA ? "bad record data"
									  : "short message");
		tw_json_end_object(j);
		return;
	}
	tw_json_u64(j, "id", d.id);
	tw_json_bool(j, "response", d.response);
	tw_json_u64(j, "opcode", d.opcode);
	if ((rcode = tw_dns_rcode_name(d.rcode)))
		tw_json_raw_string(j, "rcode", rcode);
	else
		tw_json_u64(j, "rcode", d.rcode);
	tw_json_bool(j, "authoritative", d.authoritative);
	tw_json_bool(j, "truncated", d.truncated);
	tw_json_bool(j, "recursion_desired", d.recursion_desired);
	tw_json_bool(j, "recursion_available", d.recursion_available);
	tw_json_begin_array(j, "questions");
	for (size_t i = 0; i < d.n_questions; i++) {
		tw_json_begin_object(j, NULL);
		tw_json_string(j, "name", d.questions[i].name, strlen(d.questions[i].name));
		type_json(j, "type", d.questions[i].type);
		tw_json_u64(j, "class", d.questions[i].qclass);
		tw_json_end_object(j);
	}
	tw_json_end_array(j);
	tw_json_begin_array(j, "answers");
	for (size_t i = 0; i < d.n_answers; i++) {
		const struct tw_dns_answer *a = &d.answers[i];
		tw_json_begin_object(j, NULL);
		tw_json_string(j, "name", a->name, strlen(a->name));
		type_json(j, "type", a->type);
		tw_json_u64(j, "class", a->rclass);
		tw_json_u64(j, "ttl", a->ttl);
		if (a->data[0])
			tw_json_string(j, "data", a->data, strlen(a->data));
		else
			tw_json_u64(j, "rdlength", a->rdlength);
		tw_json_end_object(j);
	}
	tw_json_end_array(j);
	tw_json_u64(j, "question_count", d.qdcount); /* as the header says; at most 4 are listed */
	tw_json_u64(j, "answer_count", d.ancount);   /* at most 16 are listed */
	tw_json_end_object(j);
}

void tw_net_event_json(struct tw_json *j, const struct tw_event *ev)
{
	switch (ev->hdr->type) {
	case TW_EVENT_NETWORK_TCP_METRICS:
		metrics_json(j, (const struct tw_tcp_metrics *)ev->hdr);
		break;
	case TW_EVENT_NETWORK_UDP_FLOW:
		udp_flow_json(j, (const struct tw_udp_flow *)ev->hdr);
		break;
	case TW_EVENT_NETWORK_DNS:
		dns_json(j, ev);
		break;
	default:
		connection_json(j, (const struct tw_net_connection *)ev->hdr);
		break;
	}
}

bool tw_dns_event_malformed(const struct tw_event *ev)
{
	const struct tw_varlen_field *f = tw_event_field(ev, TW_FIELD_DNS_PACKET);
	static __thread struct tw_dns_message_parsed d;

	return !f || tw_dns_parse((const uint8_t *)f->data, f->size,
				  f->flags & TW_FIELD_FLAG_TRUNCATED, &d) != 0;
}

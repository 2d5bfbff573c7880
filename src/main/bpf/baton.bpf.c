// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * baton's data path: the per-packet work of established connections, under the kernel's TCP
 * (claim 1: "modules dynamically loadable within ... kernel levels of an existing TCP/IP protocol").
 *
 *   network ── uplink ─┬─ tc ingress: uplink_ingress ── a flow in the map? translate (TO_CHOSEN: out
 *                      │                                again; FROM_ENTRY, LOCAL: up to the kernel)
 *                      │                            ── anything else of ours: the wire TUN (user space)
 *                      └─ tc egress:  uplink_egress  ── a flow in the map? translate (TO_CLIENT), out
 *                                                   ── anything else of ours: the kernel TUN
 *   user space ── writes to the kernel TUN: the kernel receives it
 *              └─ writes to the wire TUN: wire_ingress marks it and sends it out of the uplink
 *
 * The programs translate what the flows map says and count; the one thing they decide is a new
 * connection's (CONFIG_F_LOCAL_DECISION, struct handshake): its handshake passes, its bare ACK is
 * held back, and a request for a path user space listed in local_paths is served here with no
 * trip through user space; any other request goes up with the handshake kept for it. A SYN
 * otherwise, a FIN or RST (but a local flow's, which passes and is told to user space in the
 * "closes" ring), a flow not in the map, options that do not parse or IPv4 options go to user space, whose
 * engine (dev.baton.btcp.Btcp) handles every packet correctly on its own: the map only lets the
 * common packet skip it. Packets that are not ours (other ports and addresses, IPv6, ARP) pass.
 *
 * The programs count what they send up of each flow from its first packet on (progress.slow_in,
 * slow_out): a connection to the service from its SYN, which starts its progress; a handed-in one
 * from the moment user space holds it (FLOW_HOLD: everything to user space). When user space hands
 * a flow down it says how many of those it has read (flow.consumed_in, consumed_out); until it has
 * read them all, the flow's packets still go up, so a packet waiting in a TUN is never overtaken
 * by a later one on the kernel's path (which the receiver's PAWS check would drop, RFC 7323 5).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "datapath.h"
#include "tcp_opts.h"

/* Sized by user space before load (bpf_map__set_max_entries): two per connection at most. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct flow);
} flows SEC(".maps");

/* What the programs saw of each flow; sized like flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct progress);
} progress SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct datapath_config);
} config SEC(".maps");

/* User space's only (datapath.h): sized by user space like the connection table, mapped by it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct takeover_slot);
} takeover SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct node_state);
} node SEC(".maps");

/* Local and handed-in flows' FINs and RSTs, passed by the programs (struct close_event); read by user space
 * every turn of its loop, so no wake-up is asked for while it turns (struct engine_state: while it
 * sleeps). 24 bytes each with its header: 10922 fit. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} closes SEC(".maps");

/* struct engine_state: written by user space through its mapped page, read here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct engine_state);
} engine SEC(".maps");

/* Handshakes the programs took (struct handshake); sized by user space like flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct handshake);
} handshakes SEC(".maps");

/* Paths served here without asking user space (struct path_key); sized by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct path_key);
	__type(value, __u64);
} local_paths SEC(".maps");

/* A request line's first bytes and the path read from them: too big for the stack. */
#define REQUEST_SCAN 160
struct request_scratch {
	__u8 line[256]; /* REQUEST_SCAN used: an index masked with 255 stays inside */
	struct path_key key;
	__u32 n, method, len, slash; /* the scan (line_scan_step): in the map, not on the stack */
	int done;
	struct handshake fresh;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct request_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define TCP_FLAGS_OFF 13
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10
#define TCP_CSUM_OFF 16
#define L3 ETH_HLEN                       /* the uplink is Ethernet */
#define L4 (ETH_HLEN + sizeof(struct iphdr)) /* IPv4 options go to user space */
#define NOT_TRANSLATED (-1)

static __always_inline void count(__u32 counter, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &counter);
	if (v)
		*v += n;
}

static __always_inline struct datapath_config *config_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline __u8 tcp_flags(const struct tcphdr *tcp)
{
	return ((const __u8 *)tcp)[TCP_FLAGS_OFF];
}

/* The flow's progress, made on its first packet. */
static __always_inline struct progress *progress_of(struct flow_key *k)
{
	struct progress *p = bpf_map_lookup_elem(&progress, k);
	if (p)
		return p;
	struct progress zero = {};
	bpf_map_update_elem(&progress, k, &zero, BPF_NOEXIST);
	p = bpf_map_lookup_elem(&progress, k);
	if (!p)
		count(C_NO_PROGRESS, 1);
	return p;
}

/* A connection's SYN: its progress starts afresh, this SYN the first packet counted. */
static __always_inline void progress_start(struct flow_key *k, __u32 isn)
{
	struct progress *p = bpf_map_lookup_elem(&progress, k);
	if (p && p->isn == isn) {
		__sync_fetch_and_add(&p->slow_in, 1); /* a retransmitted SYN */
		return;
	}
	struct progress fresh = {.slow_in = 1, .isn = isn};
	if (bpf_map_update_elem(&progress, k, &fresh, BPF_ANY))
		count(C_NO_PROGRESS, 1);
}

/*
 * A local or handed-in flow's FIN or RST, about to pass: tells user space (struct close_event). False
 * if the ring is full: the segment then goes to user space, which learns of the close from it as
 * before.
 */
static __always_inline int close_passed(const struct flow_key *k, const struct flow *f, __u8 flags,
					__u8 from_kernel, __u16 entry)
{
	struct close_event *e = bpf_ringbuf_reserve(&closes, sizeof(*e), 0);
	if (!e) {
		count(C_CLOSES_FULL, 1);
		return 0;
	}
	e->remote_addr = k->remote_addr;
	e->remote_port = k->remote_port;
	e->cookie = f->cookie;
	e->tcp_flags = flags;
	e->from_kernel = from_kernel;
	e->entry = entry;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	count(C_CLOSES_PASSED, 1);
	/* Read after the commit, whose xchg is a full barrier: either this sees user space asleep, or
	 * user space's poll, which it enters after saying so, sees the record (engine_state). */
	__u32 zero = 0;
	struct engine_state *s = bpf_map_lookup_elem(&engine, &zero);
	if (s && *(volatile __u32 *)&s->asleep) {
		bpf_ringbuf_output(&closes, &zero, 0, BPF_RB_FORCE_WAKEUP);
		count(C_ENGINE_WOKEN, 1);
	}
	return 1;
}

/* Whether user space has read every packet of the flow sent to it (sequence space: they wrap). */
static __always_inline int caught_up(__u32 sent, __u32 consumed)
{
	return (__s32)(sent - consumed) <= 0;
}

/*
 * Raises *field to value unless it is already after it (sequence space, RFC 793 section 3.3); on the
 * flow's first packet on the kernel's path ({@code first}) there is nothing to compare with.
 */
static __always_inline void seq_raise(__u32 *field, __u32 value, int first)
{
	if (first || (__s32)(value - *field) > 0)
		*field = value;
}

/* The state of one option walk, on the walker's stack; one bpf_loop() step reads one option. */
struct opts_walk {
	__u8 buf[64]; /* the options, zero-padded: an index masked with 63 stays inside */
	__u32 at;     /* the next option's offset in buf */
	__u32 len;    /* the options' length */
	__u32 ts;     /* results, as tcp_opts_walk() packs them */
	__u32 sack;
	__u32 blocks;
	int malformed;
};

/* One step of the walk: 0 to go on, 1 to stop (bpf_loop's contract). */
static long opts_walk_step(__u32 n, void *ctx)
{
	struct opts_walk *w = ctx;
	__u32 at = w->at;
	if (at >= w->len || at >= TCP_MAX_OPTIONS)
		return 1;
	__u8 kind = w->buf[at & 63];
	if (kind == TCPOPT_EOL)
		return 1;
	if (kind == TCPOPT_NOP) {
		w->at = at + 1;
		return 0;
	}
	__u8 len = w->buf[(at + 1) & 63];
	if (at + 1 >= w->len || len < 2 || at + len > w->len)
		goto malformed;
	switch (kind) {
	case 2: /* MSS */
		if (len != 4)
			goto malformed;
		break;
	case 3: /* window scale */
		if (len != 3)
			goto malformed;
		break;
	case 4: /* SACK permitted */
		if (len != 2)
			goto malformed;
		break;
	case TCPOPT_SACK:
		if (len < 10 || (len - 2) % 8)
			goto malformed;
		w->sack = sizeof(struct tcphdr) + at + 1;
		w->blocks = (len - 2) / 8;
		break;
	case TCPOPT_TIMESTAMP:
		if (len != TCPOLEN_TIMESTAMP)
			goto malformed;
		w->ts = sizeof(struct tcphdr) + at + 1;
		break;
	}
	w->at = at + len;
	return 0;
malformed:
	w->malformed = 1;
	return 1;
}

/*
 * Walks the options of the TCP header at l4, any layout the RFCs allow. It reads them through
 * bpf_skb_load_bytes() in fixed 4-byte steps (the verifier refuses a computed length) and walks
 * them with bpf_loop(), whose step the verifier checks once: a plain loop over the options makes it
 * follow every path of every iteration, past its million-instruction limit. Options that user space
 * would drop and count (dev.baton.wire.TcpHeader.validate) make it return OPTS_MALFORMED.
 */
__noinline int tcp_opts_walk(struct __sk_buff *skb, __u32 l4, __u32 opt_len)
{
	struct opts_walk w;

	__builtin_memset(&w, 0, sizeof(w));
	if (opt_len > TCP_MAX_OPTIONS || (opt_len & 3))
		return OPTS_MALFORMED;
	w.len = opt_len;
#pragma unroll
	for (int i = 0; i < TCP_MAX_OPTIONS / 4; i++) {
		if (i * 4 >= opt_len)
			break;
		if (bpf_skb_load_bytes(skb, l4 + sizeof(struct tcphdr) + i * 4, w.buf + i * 4, 4))
			return OPTS_MALFORMED;
	}
	bpf_loop(TCP_MAX_OPTIONS, opts_walk_step, &w, 0);
	if (w.malformed)
		return OPTS_MALFORMED;
	return opts_pack(w.ts, w.sack, w.blocks);
}

/*
 * Finds the timestamp and SACK options of the TCP header at L4: Linux's own layouts matched in
 * place, anything else walked. Packet pointers are dead after it (it may call a global function).
 */
static __always_inline int tcp_opts(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct tcphdr *tcp = data + L4;
	if ((void *)(tcp + 1) > end)
		return OPTS_MALFORMED;
	__u32 opt_len = tcp->doff * 4;
	if (opt_len < sizeof(struct tcphdr))
		return OPTS_MALFORMED;
	if (L4 + opt_len > skb->len)
		return OPTS_MALFORMED; /* a data offset past the segment: user space drops it */
	opt_len -= sizeof(struct tcphdr);
	if (opt_len == 0)
		return opts_pack(0, 0, 0);

	__u8 *o = (__u8 *)(tcp + 1);
	if ((void *)(o + 16) <= end) {
		/* NOP NOP TS (12 bytes), optionally then NOP NOP SACK (4 + 8n) */
		if (o[0] == TCPOPT_NOP && o[1] == TCPOPT_NOP && o[2] == TCPOPT_TIMESTAMP &&
		    o[3] == TCPOLEN_TIMESTAMP) {
			if (opt_len == 12)
				return opts_pack(20 + 2 + 1, 0, 0);
			if (o[12] == TCPOPT_NOP && o[13] == TCPOPT_NOP && o[14] == TCPOPT_SACK &&
			    opt_len == 12 + 2 + (__u32)o[15] && o[15] >= 10 && ((o[15] - 2) & 7) == 0)
				return opts_pack(20 + 2 + 1, 20 + 14 + 1, (o[15] - 2) / 8);
		}
		/* NOP NOP SACK, no timestamps */
		if (o[0] == TCPOPT_NOP && o[1] == TCPOPT_NOP && o[2] == TCPOPT_SACK &&
		    opt_len == 2 + (__u32)o[3] && o[3] >= 10 && ((o[3] - 2) & 7) == 0)
			return opts_pack(0, 20 + 2 + 1, (o[3] - 2) / 8);
	} else if ((void *)(o + 12) <= end && opt_len == 12 && o[0] == TCPOPT_NOP &&
		   o[1] == TCPOPT_NOP && o[2] == TCPOPT_TIMESTAMP && o[3] == TCPOLEN_TIMESTAMP) {
		return opts_pack(20 + 2 + 1, 0, 0);
	}
	return tcp_opts_walk(skb, L4, opt_len);
}

/* Adds delta to the 32-bit option field at TCP offset off (ts/SACK), folding the change into *diff. */
static __always_inline int option_add(struct __sk_buff *skb, __u32 off, __u32 delta, __u64 *diff)
{
	__u32 old, new;
	if (bpf_skb_load_bytes(skb, L4 + off, &old, 4))
		return -1;
	new = bpf_htonl(bpf_ntohl(old) + delta);
	if (bpf_skb_store_bytes(skb, L4 + off, &new, 4, 0))
		return -1;
	csum_diff32(diff, csum_align32(old, off), csum_align32(new, off));
	return 0;
}

/* The two checksum updates every translation ends with: header fields by difference, the address
 * through the pseudo-header. */
static __always_inline int finish_csum(struct __sk_buff *skb, __u64 diff, __u32 old_addr, __u32 new_addr)
{
	if (bpf_l4_csum_replace(skb, L4 + TCP_CSUM_OFF, 0, csum_fold64(diff), 0))
		return -1;
	if (bpf_l4_csum_replace(skb, L4 + TCP_CSUM_OFF, old_addr, new_addr, BPF_F_PSEUDO_HDR | 4))
		return -1;
	return 0;
}

/*
 * Entry node, a client packet of a handed-off connection (claims 7, 17; dev.baton.btcp.Btcp
 * translateToChosen): to the chosen node's address and forward port; the acknowledgment number, the
 * SACK edges and TSecr into the chosen node's space.
 */
static __always_inline int to_chosen(struct __sk_buff *skb, struct flow *f, struct progress *pr)
{
	int opts = tcp_opts(skb);
	if (opts < 0)
		return NOT_TRANSLATED;

	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + L3;
	struct tcphdr *tcp = data + L4;
	if ((void *)(tcp + 1) > end)
		return NOT_TRANSLATED;

	__u64 diff = 0;
	__u32 old_addr = ip->daddr, new_addr = f->addr;
	int ack = tcp_flags(tcp) & TCP_ACK;
	int first = pr->last_ns == 0;
	pr->last_ns = bpf_ktime_get_ns();
	ip->check = ip_csum_replace32(ip->check, old_addr, new_addr);
	ip->daddr = new_addr;
	csum_diff16(&diff, tcp->dest, f->port);
	tcp->dest = f->port;
	if (ack) {
		__u32 a = bpf_ntohl(tcp->ack_seq);
		__u32 translated = bpf_htonl(a + f->seq_delta);
		seq_raise(&pr->ack, a, first);
		csum_diff32(&diff, tcp->ack_seq, translated);
		tcp->ack_seq = translated;
		/* helpers from here on: no more direct access */
		__u32 sack = OPTS_SACK(opts), blocks = OPTS_SACK_BLOCKS(opts);
		if (sack) {
			for (__u32 b = 0; b < SACK_MAX_BLOCKS; b++) { /* bounded: the verifier follows it */
				if (b >= blocks)
					break;
				if (option_add(skb, sack - 1 + 2 + b * 8, f->seq_delta, &diff) ||
				    option_add(skb, sack - 1 + 6 + b * 8, f->seq_delta, &diff))
					return TC_ACT_SHOT;
			}
		}
		__u32 ts = OPTS_TS(opts);
		if (ts && (f->flags & FLOW_F_TIMESTAMPS) &&
		    option_add(skb, ts - 1 + 6, f->ts_delta, &diff))
			return TC_ACT_SHOT;
	}
	if (finish_csum(skb, diff, old_addr, new_addr))
		return TC_ACT_SHOT;
	count(C_TO_CHOSEN, 1);
	count(C_TO_CHOSEN_BYTES, skb->len - L3);
	return 0;
}

/*
 * Chosen node, a client packet its entry forwarded (dev.baton.btcp.Btcp toShadow): to the entry's
 * shadow address and the service port, where our kernel has the connection. Sequence space is
 * already ours.
 */
static __always_inline int from_entry(struct __sk_buff *skb, struct flow *f, struct progress *pr)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + L3;
	struct tcphdr *tcp = data + L4;
	if ((void *)(tcp + 1) > end)
		return NOT_TRANSLATED;
	__u32 hl = tcp->doff * 4;
	if (hl < sizeof(struct tcphdr) || L4 + hl > skb->len)
		return NOT_TRANSLATED;

	__u64 diff = 0;
	__u32 old_addr = ip->daddr, new_addr = f->addr;
	int first = pr->last_ns == 0;
	pr->last_ns = bpf_ktime_get_ns();
	seq_raise(&pr->next, bpf_ntohl(tcp->seq) + (skb->len - L4 - hl) + !!(tcp_flags(tcp) & TCP_FIN), first);
	if (tcp_flags(tcp) & TCP_ACK)
		seq_raise(&pr->ack, bpf_ntohl(tcp->ack_seq), first);
	ip->check = ip_csum_replace32(ip->check, old_addr, new_addr);
	ip->daddr = new_addr;
	csum_diff16(&diff, tcp->dest, f->port);
	tcp->dest = f->port;
	if (finish_csum(skb, diff, old_addr, new_addr))
		return TC_ACT_SHOT;
	count(C_FROM_ENTRY, 1);
	return 0;
}

/*
 * Chosen node, its kernel's packet to the client (claims 9, 18; dev.baton.btcp.Btcp
 * translateToClient): from the entry's address, sequence numbers and TSval into the entry's space,
 * the window rescaled to the entry's window scale. A GSO super-packet is rewritten once: its
 * segments take their sequence numbers from it.
 */
static __always_inline int to_client(struct __sk_buff *skb, struct flow *f, struct progress *pr)
{
	int opts = 0;
	if (f->flags & FLOW_F_TIMESTAMPS) {
		opts = tcp_opts(skb);
		if (opts < 0)
			return NOT_TRANSLATED;
	}

	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + L3;
	struct tcphdr *tcp = data + L4;
	if ((void *)(tcp + 1) > end)
		return NOT_TRANSLATED;
	__u32 hl = tcp->doff * 4;
	if (hl < sizeof(struct tcphdr) || L4 + hl > skb->len)
		return NOT_TRANSLATED;

	__u64 diff = 0;
	__u32 old_addr = ip->saddr, new_addr = f->addr;
	__u32 payload = skb->len - L4 - hl;
	__u32 seq = bpf_ntohl(tcp->seq);
	__u32 translated = bpf_htonl(seq - f->seq_delta);
	int first = pr->last_ns == 0;
	pr->last_ns = bpf_ktime_get_ns();
	seq_raise(&pr->next, seq + payload + !!(tcp_flags(tcp) & TCP_FIN), first); /* a FIN takes one */
	ip->check = ip_csum_replace32(ip->check, old_addr, new_addr);
	ip->saddr = new_addr;
	csum_diff32(&diff, tcp->seq, translated);
	tcp->seq = translated;
	if (f->wscale_from != f->wscale_to) {
		__u32 bytes = (__u32)bpf_ntohs(tcp->window) << (f->wscale_from & 15);
		bytes >>= (f->wscale_to & 15);
		__u16 w = bpf_htons(bytes > 0xffff ? 0xffff : bytes);
		csum_diff16(&diff, tcp->window, w);
		tcp->window = w;
	}
	__u32 ts = OPTS_TS(opts);
	if (ts && option_add(skb, ts - 1 + 2, -f->ts_delta, &diff))
		return TC_ACT_SHOT;
	if (finish_csum(skb, diff, old_addr, new_addr))
		return TC_ACT_SHOT;
	count(C_TO_CLIENT, 1);
	count(C_TO_CLIENT_BYTES, payload);
	return 0;
}


/* ---------------------------------------------------------------------------------------------
 * New connections served here without user space (struct handshake, CONFIG_F_LOCAL_DECISION).
 */

#define HANDSHAKE_UP (-2) /* the packet goes to user space, counted: it has the connection now */

/* Characters a path may have to be decided here: with them, and with no "//", "/." or "%", the
 * path as sent is the path dev.baton.http.RequestParser routes on (nothing to decode or normalise);
 * dev.baton.datapath.LocalPaths puts only such paths in the map. */
static __always_inline int path_char(__u8 ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '/' ||
	       ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* One bpf_loop() step of the request line scan: reads one byte. Its state lives in the scratch
 * map, whose values the verifier reads back as any number: on the stack each path length would be
 * a state of its own, and the callback's verification would not converge. */
static long line_scan_step(__u32 i, void *ctx)
{
	__u32 zero = 0;
	struct request_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 1;
	if (i >= s->n) /* s->n <= REQUEST_SCAN */
		goto refuse;
	__u8 ch = s->line[i & 255];
	if (s->method) {
		if (ch == ' ' && i > 0)
			s->method = 0;
		else if (ch < 'A' || ch > 'Z')
			goto refuse;
		return 0;
	}
	__u32 len = s->len;
	if (len > 0 && (ch == ' ' || ch == '?')) {
		s->done = 1;
		return 1;
	}
	if ((len == 0 && ch != '/') || (s->slash && (ch == '/' || ch == '.')) || !path_char(ch) ||
	    len >= PATH_KEY_SIZE - 1)
		goto refuse;
	s->key.path[len & (PATH_KEY_SIZE - 1)] = ch;
	s->len = len + 1;
	s->slash = ch == '/';
	return 0;
refuse:
	s->done = -1;
	return 1;
}

/*
 * Whether the request that starts in this segment's payload (at off, payload bytes) asks for a
 * path in local_paths: "METHOD /path" then a space or "?". Anything else, a line longer than the
 * segment or REQUEST_SCAN included, is left to user space, which parses every request. The bytes
 * are walked with bpf_loop() (a plain loop makes the verifier follow every path length apart).
 */
__noinline int request_is_local(struct __sk_buff *skb, __u32 off, __u32 payload)
{
	__u32 zero = 0;
	struct request_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s || payload == 0)
		return 0;
	/* 1 .. REQUEST_SCAN bytes, said so that the verifier sees it (clang drops a plain mask) */
	__u32 last = (payload < REQUEST_SCAN ? payload : REQUEST_SCAN) - 1;
	asm volatile("%0 &= 0xff" : "+r"(last));
	__u32 n = last + 1;
	if (bpf_skb_load_bytes(skb, off, s->line, n))
		return 0;
	__builtin_memset(&s->key, 0, sizeof(s->key));
	s->n = n;
	s->method = 1;
	s->len = 0;
	s->slash = 0;
	s->done = 0;
	bpf_loop(REQUEST_SCAN, line_scan_step, NULL, 0);
	if (s->done != 1)
		return 0;
	__u64 *hits = bpf_map_lookup_elem(&local_paths, &s->key);
	if (!hits)
		return 0;
	__sync_fetch_and_add(hits, 1);
	return 1;
}

/* A connection decided here: its first FIN or RST, counted once (the node's load, user space). */
static __always_inline void local_ended(struct handshake *h, __u8 flags)
{
	if ((flags & (TCP_FIN | TCP_RST)) && !h->ended) {
		h->ended = 1;
		count(C_DECIDED_LOCAL_ENDED, 1);
	}
}

/*
 * Whether a SYN (syn_len bytes from its IPv4 header, which has no options) sums to its TCP
 * checksum with its pseudo-header (RFC 793 section 3.1): one that does not is not the kernel's to
 * answer before user space has counted it. A GSO packet is never a SYN, so none is partial here
 * but one a local sender left so, which user space finishes.
 */
static __always_inline int syn_csum_ok(__u8 *syn, __u32 syn_len)
{
	struct iphdr *ip = (void *)syn;
	__u32 tcp_len = syn_len - sizeof(struct iphdr);
	struct {
		__u32 saddr, daddr;
		__u16 proto, len;
	} pseudo = {ip->saddr, ip->daddr, bpf_htons(IPPROTO_TCP), bpf_htons(tcp_len)};
	__s64 sum = bpf_csum_diff(NULL, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
	if (sum < 0 || tcp_len > HANDSHAKE_PACKET_MAX - sizeof(struct iphdr))
		return 0;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)(syn + sizeof(struct iphdr)), tcp_len, (__u32)sum);
	return sum >= 0 && csum_fold32((__u32)sum) == 0xffff;
}

/*
 * A client's SYN to the service with no flow: its handshake passes in the kernel, kept in
 * handshakes (the SYN itself, for a handoff). TC_ACT_OK, or -1: to user space as before (a SYN with
 * data, a connection user space has, no room).
 */
static __always_inline int handshake_syn(struct __sk_buff *skb, struct flow_key *k, __u32 isn, __u32 syn_len)
{
	if (syn_len > HANDSHAKE_PACKET_MAX || syn_len < sizeof(struct iphdr) + sizeof(struct tcphdr))
		return -1;
	if (tcp_opts(skb) < 0)
		return -1; /* user space drops and counts it (badTcpOptions), as before */
	__u32 zero = 0;
	struct request_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return -1;
	__builtin_memset(&s->fresh, 0, sizeof(s->fresh));
	if (bpf_skb_load_bytes(skb, L3, s->fresh.syn, syn_len) || !syn_csum_ok(s->fresh.syn, syn_len))
		return -1; /* user space drops and counts a bad one (badChecksum), or finishes a partial one */
	struct handshake *h = bpf_map_lookup_elem(&handshakes, k);
	if (h && h->state == HS_UP)
		return -1; /* user space has this port's connection: it decides what a new SYN means */
	if (h && h->isn == isn && (h->state == HS_SYN || h->state == HS_SYNACK)) {
		/* a retransmission: keep the latest copy, the one the kernel answers */
		__builtin_memcpy(h->syn, s->fresh.syn, sizeof(h->syn));
		return TC_ACT_OK;
	}
	struct progress *p = h ? NULL : bpf_map_lookup_elem(&progress, k);
	if (p && p->isn == isn)
		return -1; /* a retransmission of a SYN user space has (its port's entry went meanwhile) */
	s->fresh.state = HS_SYN;
	s->fresh.syn_len = syn_len;
	s->fresh.isn = isn;
	if (bpf_map_update_elem(&handshakes, k, &s->fresh, BPF_ANY))
		return -1;
	/* counted from here on, as a SYN that user space read would be, less the SYN */
	struct progress fresh = {.isn = isn};
	if (bpf_map_update_elem(&progress, k, &fresh, BPF_ANY))
		count(C_NO_PROGRESS, 1);
	count(C_HANDSHAKES, 1);
	return TC_ACT_OK;
}

/*
 * Whether a SYN with isn on a flow's ports starts a new connection the programs may take: the flow
 * is a handoff's that lingers (FLOW_F_LINGER) and isn is not its connection's (a retransmission of
 * that SYN is the engine's, which drops it).
 */
static __always_inline int lingered(const struct flow *f, struct flow_key *k, __u32 isn)
{
	if (f->action != FLOW_TO_CHOSEN || !(f->flags & FLOW_F_LINGER))
		return 0;
	struct progress *p = bpf_map_lookup_elem(&progress, k);
	return p && p->isn != isn;
}

/* A client packet of a handshake the programs took (not HS_UP): TC_ACT_OK, TC_ACT_SHOT or HANDSHAKE_UP. */
static __always_inline int handshake_in(struct __sk_buff *skb, struct handshake *h, __u8 flags)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + L3;
	struct tcphdr *tcp = data + L4;
	if ((void *)(tcp + 1) > end)
		return TC_ACT_OK;
	__u32 hl = tcp->doff * 4;
	__u32 ip_len = bpf_ntohs(ip->tot_len);
	if (hl < sizeof(struct tcphdr) || ip_len < sizeof(struct iphdr) + hl)
		return TC_ACT_OK; /* the kernel drops it */
	__u32 payload = ip_len - sizeof(struct iphdr) - hl;
	__u32 seq = bpf_ntohl(tcp->seq), ack = bpf_ntohl(tcp->ack_seq);
	switch (h->state) {
	case HS_LOCAL:
		local_ended(h, flags);
		count(C_LOCAL_IN, 1);
		return TC_ACT_OK;
	case HS_SYNACK:
		break;
	default:
		return TC_ACT_OK; /* no SYN/ACK yet: whatever it is, the kernel's to answer */
	}
	if ((flags & (TCP_ACK | TCP_RST | TCP_SYN)) != TCP_ACK || ack != h->server_isn + 1)
		return TC_ACT_OK; /* a reset or a stray segment: the kernel's */
	int silent = 0;
	if (payload == 0 && !(flags & TCP_FIN)) {
		/* Held: the request carries the same ACK (claims 6, 16). A client silent past the engine's
		 * request timeout is given to the server as the engine would (its ACK of a retransmitted
		 * SYN/ACK passes): else the kernel's half-open entry would die and the client with it. */
		__u32 now_ms = (__u32)(bpf_ktime_get_ns() / 1000000) | 1;
		if (!h->held_ms)
			h->held_ms = now_ms;
		silent = now_ms - h->held_ms >= HELD_ACK_TIMEOUT_MS; /* wraps after 49 days: a difference */
		if (!silent) {
			count(C_HANDSHAKE_ACKS, 1);
			return TC_ACT_SHOT;
		}
	}
	if (payload == 0 || (seq == h->isn + 1 && request_is_local(skb, L4 + hl, payload))) {
		/* a FIN before any request, or silence: nothing to hand off, the server sees it */
		h->state = HS_LOCAL;
		if (silent)
			count(C_SILENT_RELEASED, 1);
		count(C_DECIDED_LOCAL, 1);
		local_ended(h, flags);
		count(C_LOCAL_IN, 1);
		return TC_ACT_OK;
	}
	h->state = HS_UP;
	count(C_REQUESTS_UP, 1);
	return HANDSHAKE_UP;
}

/* Our kernel's packet of a handshake the programs took (not HS_UP): keeps its SYN/ACK; passes. */
static __always_inline int handshake_out(struct __sk_buff *skb, struct handshake *h, __u8 flags)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct tcphdr *tcp = data + L4;
	if ((void *)(tcp + 1) > end)
		return TC_ACT_OK;
	if (h->state == HS_SYN && (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK) &&
	    bpf_ntohl(tcp->ack_seq) == h->isn + 1) {
		__u32 len = sizeof(struct iphdr) + tcp->doff * 4;
		__u32 seq = bpf_ntohl(tcp->seq);
		if (len <= HANDSHAKE_PACKET_MAX && len >= sizeof(struct iphdr) + sizeof(struct tcphdr) &&
		    !bpf_skb_load_bytes(skb, L3, h->synack, len)) {
			h->synack_len = len;
			h->server_isn = seq;
			h->state = HS_SYNACK;
		}
		return TC_ACT_OK;
	}
	if (h->state == HS_LOCAL) {
		local_ended(h, flags);
		count(C_LOCAL_OUT, 1);
	}
	return TC_ACT_OK;
}

SEC("tc")
int uplink_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + L3;
	struct tcphdr *tcp = data + L4;
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
		return TC_ACT_OK;
	struct datapath_config *c = config_get();
	if (!c) {
		count(C_NO_CONFIG, 1);
		return TC_ACT_OK;
	}
	if (ip->daddr != c->local_addr)
		return TC_ACT_OK;
	if (ip->ihl != 5 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) || (void *)(tcp + 1) > end) {
		count(C_IP_OPTIONS, 1);
		goto slow; /* user space knows what to do with these, ours or not */
	}
	int service = tcp->dest == c->service_port;
	__u16 forward = bpf_ntohs(tcp->dest) - c->forward_base - 1;
	if (!service && forward >= c->forward_count) {
		/* the control channel, the server's own connections, ...: through the fault module too */
		if (c->flags & CONFIG_F_ALL_SLOW)
			goto slow;
		return TC_ACT_OK;
	}

	struct flow_key k = {
		.remote_addr = ip->saddr,
		.local_addr = ip->daddr,
		.remote_port = tcp->source,
		.local_port = tcp->dest,
	};
	__u8 flags = tcp_flags(tcp);
	struct flow *f = bpf_map_lookup_elem(&flows, &k);
	struct progress *pr;
	if (service && (flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		__u32 isn = bpf_ntohl(tcp->seq);
		__u32 syn_len = sizeof(struct iphdr) + tcp->doff * 4;
		if ((!f || lingered(f, &k, isn)) &&
		    (c->flags & (CONFIG_F_LOCAL_DECISION | CONFIG_F_ALL_SLOW)) == CONFIG_F_LOCAL_DECISION &&
		    bpf_ntohs(ip->tot_len) == syn_len && handshake_syn(skb, &k, isn, syn_len) == TC_ACT_OK) {
			if (f) {
				/* the old connection is over: user space learns it from the request */
				bpf_map_delete_elem(&flows, &k);
				count(C_AFTER_LINGER, 1);
			}
			return TC_ACT_OK; /* (a SYN with data, TCP Fast Open, goes up: user space passes it) */
		}
		progress_start(&k, isn);
		goto slow;
	}
	if (!f) {
		if (service && !(c->flags & CONFIG_F_ALL_SLOW)) {
			struct handshake *h = bpf_map_lookup_elem(&handshakes, &k);
			if (h && h->state != HS_UP) {
				int r = handshake_in(skb, h, flags);
				if (r != HANDSHAKE_UP)
					return r;
				pr = progress_of(&k);
				if (!pr)
					goto slow;
				goto counted;
			}
		}
		/* in the engine's hands: counted if its SYN started a progress */
		pr = service ? bpf_map_lookup_elem(&progress, &k) : NULL;
		if (pr)
			goto counted;
		goto slow;
	}
	pr = progress_of(&k);
	if (!pr)
		goto slow;
	if ((c->flags & CONFIG_F_ALL_SLOW) || f->action == FLOW_HOLD || (flags & TCP_SYN))
		goto counted;
	if (!caught_up(pr->slow_in, f->consumed_in)) {
		count(C_CATCHING_UP, 1);
		goto counted;
	}
	int r;
	if (service && f->action == FLOW_LOCAL) {
		if ((flags & (TCP_FIN | TCP_RST)) && !close_passed(&k, f, flags, 0, 0))
			goto counted;
		pr->last_ns = bpf_ktime_get_ns();
		count(C_LOCAL_IN, 1);
		return TC_ACT_OK;
	} else if (service && f->action == FLOW_TO_CHOSEN) {
		/* the client's close passes too, told (the engine's linger starts there) */
		if ((flags & (TCP_FIN | TCP_RST)) && !close_passed(&k, f, flags, 0, 0))
			goto counted;
		r = to_chosen(skb, f, pr);
		if (r == 0) {
			/* The receive hash is the client's 4-tuple; steered by it, the router's RPS would
			 * put this packet on another CPU than the engine's copies of the same flow (hashed
			 * as written) and reorder the two: PAWS drops at the chosen node. */
			bpf_set_hash_invalid(skb);
			r = bpf_redirect_neigh(c->uplink_ifindex, NULL, 0, 0);
			if (r != TC_ACT_REDIRECT)
				count(C_REDIRECT_FAILED, 1);
			return r;
		}
	} else if (!service && f->action == FLOW_FROM_ENTRY) {
		/* the client's close passes too, told (its entry hears of the end from user space) */
		if ((flags & (TCP_FIN | TCP_RST)) && !close_passed(&k, f, flags, 0, forward + 1))
			goto counted;
		r = from_entry(skb, f, pr);
		if (r == 0)
			return TC_ACT_OK;
	} else {
		goto counted;
	}
	if (r != NOT_TRANSLATED)
		return r; /* a failed write: the packet may be half rewritten */
	count(C_BAD_OPTIONS, 1);
counted:
	__sync_fetch_and_add(&pr->slow_in, 1);
slow:
	count(C_SLOW_FROM_WIRE, 1);
	return bpf_redirect(c->wire_ifindex, 0);
}

SEC("tc")
int uplink_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + L3;
	struct tcphdr *tcp = data + L4;
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
		return TC_ACT_OK;
	struct datapath_config *c = config_get();
	if (!c) {
		count(C_NO_CONFIG, 1);
		return TC_ACT_OK;
	}
	if (c->mark && skb->mark == c->mark)
		return TC_ACT_OK; /* user space sent it: it is what it must be */
	int shadow = (ip->saddr & bpf_htonl(0xffffff00)) == c->shadow_net;
	if (ip->saddr != c->local_addr && !shadow)
		return TC_ACT_OK;
	if (ip->ihl != 5 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) || (void *)(tcp + 1) > end) {
		if (!shadow && !(c->flags & CONFIG_F_ALL_SLOW))
			return TC_ACT_OK; /* the kernel's own: nothing of a connection we track */
		count(C_IP_OPTIONS, 1);
		goto slow; /* a shadow address never leaves as it is */
	}
	if (tcp->source != c->service_port) {
		if (!shadow && !(c->flags & CONFIG_F_ALL_SLOW))
			return TC_ACT_OK; /* the control channel, the server's own connections, ... */
		goto slow;
	}

	struct flow_key k = {
		.remote_addr = ip->daddr,
		.local_addr = ip->saddr,
		.remote_port = tcp->dest,
		.local_port = tcp->source,
	};
	__u8 flags = tcp_flags(tcp);
	struct flow *f = bpf_map_lookup_elem(&flows, &k);
	struct progress *pr;
	if (!f) {
		if (!shadow && !(c->flags & CONFIG_F_ALL_SLOW)) {
			struct handshake *h = bpf_map_lookup_elem(&handshakes, &k);
			if (h && h->state != HS_UP)
				return handshake_out(skb, h, flags);
		}
		pr = shadow ? NULL : bpf_map_lookup_elem(&progress, &k);
		if (pr)
			goto counted;
		goto slow;
	}
	pr = progress_of(&k);
	if (!pr)
		goto slow;
	if ((c->flags & CONFIG_F_ALL_SLOW) || f->action == FLOW_HOLD || (flags & TCP_SYN))
		goto counted;
	if (!caught_up(pr->slow_out, f->consumed_out)) {
		count(C_CATCHING_UP, 1);
		goto counted;
	}
	if (!shadow && f->action == FLOW_LOCAL) {
		if ((flags & (TCP_FIN | TCP_RST)) && !close_passed(&k, f, flags, 1, 0))
			goto counted;
		pr->last_ns = bpf_ktime_get_ns();
		count(C_LOCAL_OUT, 1);
		return TC_ACT_OK;
	}
	if (!shadow && (flags & (TCP_FIN | TCP_RST)))
		goto counted;
	if (shadow && f->action == FLOW_TO_CLIENT) {
		/* our server's close passes too, told (the entry hears of the end from user space) */
		if ((flags & (TCP_FIN | TCP_RST)) && !close_passed(&k, f, flags, 1, bpf_ntohl(ip->saddr) & 0xff))
			goto counted;
		int r = to_client(skb, f, pr);
		if (r == 0) {
			bpf_set_hash_invalid(skb); /* the socket's hash: as in uplink_ingress */
			return TC_ACT_OK;
		}
		if (r != NOT_TRANSLATED)
			return r;
		count(C_BAD_OPTIONS, 1);
	}
counted:
	__sync_fetch_and_add(&pr->slow_out, 1);
slow:
	count(C_SLOW_FROM_KERNEL, 1);
	return bpf_redirect(c->kernel_ifindex, 0);
}

/*
 * tc ingress of the wire TUN: what user space writes there is for the network. Marked, so that
 * uplink_egress lets it pass as it is, and sent out of the uplink with the next hop's address. A TUN
 * packet has no Ethernet header, and bpf_redirect_neigh() drops a packet without one: an empty
 * header goes in front (bpf_skb_change_head()), which the helper replaces with the next hop's.
 */
SEC("tc")
int wire_ingress(struct __sk_buff *skb)
{
	struct datapath_config *c = config_get();
	if (!c) {
		count(C_NO_CONFIG, 1);
		return TC_ACT_SHOT;
	}
	if (bpf_skb_change_head(skb, ETH_HLEN, 0)) {
		count(C_REDIRECT_FAILED, 1);
		return TC_ACT_SHOT;
	}
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return TC_ACT_SHOT;
	__builtin_memset(eth, 0, sizeof(*eth));
	eth->h_proto = skb->protocol;
	skb->mark = c->mark;
	count(C_WIRE_OUT, 1);
	return bpf_redirect_neigh(c->uplink_ifindex, NULL, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

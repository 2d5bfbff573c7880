/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the data path programs and user space share: the maps' keys and values, the flow actions and
 * the counters. Java mirrors every layout here in dev.baton.datapath (FlowKey, Flow, DatapathConfig,
 * DatapathCounter); the loader refuses an object whose map key or value sizes differ from Java's,
 * and the test-run tests check every field's meaning. Change both together.
 *
 * Addresses and ports are in network byte order, as in the packet; sequence numbers, deltas and
 * times in host order.
 */
#ifndef BATON_DATAPATH_H
#define BATON_DATAPATH_H

#include <linux/types.h>

/* What a flow's packets get (claims 7, 9: the per-packet work of an established connection). */
enum flow_action {
	/* Served by this node (claim 8): passed to and from the kernel untouched. */
	FLOW_LOCAL = 1,
	/* Entry node, client to chosen (claims 7, 17): daddr and dport to the chosen node's address
	 * and forward port; ack, SACK edges += seq_delta; TSecr += ts_delta; out of the uplink. */
	FLOW_TO_CHOSEN = 2,
	/* Chosen node, a client packet the entry forwarded: daddr and dport to the entry's shadow
	 * address and the service port, up to the kernel. */
	FLOW_FROM_ENTRY = 3,
	/* Chosen node, its kernel to the client (claims 9, 18): saddr to the entry's address;
	 * seq -= seq_delta; TSval -= ts_delta; the window rescaled; straight out. */
	FLOW_TO_CLIENT = 4,
	/* The engine has the connection (handshake, held request, handoff in progress): every packet
	 * to user space, counted, so that the hand-down later knows when none is left behind. */
	FLOW_HOLD = 5,
};

#define FLOW_F_TIMESTAMPS 0x01 /* the connection carries timestamps: translate TSval/TSecr */
/* TO_CHOSEN: the connection is over and the entry lingers for its late packets. A SYN with another
 * ISN on its ports is a new connection: the programs drop the flow and take its handshake as if
 * there had been none (a client reuses its ports within the linger: wrk did for 91% of them). */
#define FLOW_F_LINGER 0x02

/*
 * A flow as the packet names it at this node: the remote end (the client) and the local end (this
 * node's address and the service or forward port; at the chosen node's egress, the entry's shadow
 * address and the service port).
 */
struct flow_key {
	__be32 remote_addr;
	__be32 local_addr;
	__be16 remote_port;
	__be16 local_port;
};

/*
 * A flow's translation: written by user space only (a map update replaces the whole element, which
 * would lose what a program wrote into it meanwhile; what the programs write goes in struct
 * progress).
 */
struct flow {
	__u8 action;       /* enum flow_action */
	__u8 flags;        /* FLOW_F_* */
	__u8 wscale_from;  /* TO_CLIENT: the chosen kernel's window scale ... */
	__u8 wscale_to;    /* ... and the entry's, which the client knows; equal: no rescaling */
	__be32 addr;       /* the new address: chosen, shadow or entry */
	__be16 port;       /* the new port: forward or service port (TO_CLIENT: unused) */
	__u16 cookie;      /* LOCAL: user space's name for the connection, echoed in its close events */
	__u32 seq_delta;   /* ISN(chosen) - ISN(entry) */
	__u32 ts_delta;    /* TSval(chosen SYN/ACK) - TSval(entry SYN/ACK) */
	/* How many of the packets counted in progress.slow_in / slow_out user space has read: until it
	 * has read them all, the flow's packets keep going to it, so that none is overtaken. */
	__u32 consumed_in;
	__u32 consumed_out;
};

/*
 * What the programs saw of a flow: written by them only, read by user space. A connection to the
 * service gets one at its SYN, made by the programs (no work for user space per SYN, which a SYN
 * flood would make costly); an LRU map, so that those of connections that never finished their
 * handshake give way.
 */
struct progress {
	__u32 slow_in;     /* packets from the network sent to user space since the flow began */
	__u32 slow_out;    /* packets from the kernel sent to user space since the flow began */
	__u32 ack;         /* the highest acknowledgment number seen, before translation */
	__u32 next;        /* the highest sequence number + payload (+ 1 for a FIN) seen, before translation */
	__u64 last_ns;     /* bpf_ktime_get_ns() at the last packet carried; 0: none yet */
	__u32 isn;         /* the client's initial sequence number: a SYN with another starts afresh */
	__u32 reserved;
};

/*
 * What a restarted baton process takes over (issue 12: a restart loses no connection). The programs
 * never touch these two maps; they are here so that they are made, sized and pinned with the rest,
 * and outlive the process as the flows do.
 *
 * takeover: an array with one slot per slot of the engine's connection table, holding the record of
 * a connection shared with another node (handed off from here, handed in to here, or mid-handoff),
 * written at each change of its state (dev.baton.btcp.ConnRecord holds the layout; the record starts
 * with the engine's connection key). A local connection needs none: its FLOW_LOCAL flow says all
 * there is to know. User space writes the slots through the map's mapped pages (BPF_F_MMAPABLE),
 * with no system call, a few times per handoff. Each slot has two copies: the engine writes the
 * older one, so a process killed mid-write leaves the newer whole. A copy is whole when its seq is
 * not 0; of two whole copies, the one with the higher seq is the record.
 */
#define TAKEOVER_RECORD_SIZE 136
struct takeover_copy {
	__u64 seq;
	__u8 bytes[TAKEOVER_RECORD_SIZE];
};
struct takeover_slot {
	struct takeover_copy copy[2];
};

/* node: one element, what the process keeps across a restart for itself. */
struct node_state {
	__u64 incarnation;  /* told to peers in every Hello: the same one means "the link was cut" */
	__u64 alive_ns;     /* CLOCK_MONOTONIC when the process last said it was alive (every second) */
};

/*
 * engine: one element, what the engine's loop tells the programs of itself. asleep: 1 while it waits
 * in poll(2) for longer than a turn (the closes ring's descriptor among what it polls): a close
 * told meanwhile then adds an empty record with a wake-up, which the reader skips. 0 while it
 * turns: the ring is read every turn, and a wake-up (an irq_work) would cost each close.
 */
struct engine_state {
	__u32 asleep;
	__u32 reserved;
};

/*
 * A FIN or RST of a local or a handed-in flow, which the programs passed themselves (ring buffer
 * "closes"): user space needs only to know of it (to forget a local connection, to tell a handed-in
 * one's entry that it ended), and the packet need not cross user space twice for that. Written by
 * the programs only; one per FIN or RST.
 */
struct close_event {
	__be32 remote_addr;  /* the client */
	__be16 remote_port;
	__u16 cookie;        /* the flow's (struct flow): which connection on these ports it was */
	__u8 tcp_flags;      /* the segment's flags: FIN, RST (and ACK, ...) */
	__u8 from_kernel;    /* 1: our server's segment (egress), 0: the client's */
	__u16 entry;         /* 0: a local flow; else the handed-in connection's entry, by its index
			      * (shadow address .N, forward port forward_base + N) */
};

/*
 * A connection the programs took through its handshake themselves (CONFIG_F_LOCAL_DECISION): the
 * engine need not see a connection this node serves ("rare handoff" in user space too). The SYN
 * and the kernel's SYN/ACK pass; the client's bare ACK is dropped, so that the kernel keeps a
 * SYN-RECV entry and the server sees no connection (the held "connection indication" of claims 6,
 * 16: the request segment completes the kernel's handshake, since it carries the same ACK); a
 * request whose path is in local_paths passes (claim 8); any other goes to user space, which
 * finds the SYN and the SYN/ACK here and holds the connection as if it had seen them.
 * Written by the programs only; an LRU map, so that the entries of connections long over give way.
 */
enum handshake_state {
	HS_SYN = 1,     /* the SYN passed to the kernel */
	HS_SYNACK = 2,  /* ... and the kernel's SYN/ACK to the client: its bare ACK is dropped */
	HS_LOCAL = 3,   /* the request is served here: the kernel has the connection, both ways */
	HS_UP = 4,      /* the request went to user space, which has the connection now */
};

#define HANDSHAKE_PACKET_MAX 80 /* an IPv4 header without options and the longest TCP header */
/* dev.baton.btcp.Btcp.Config's default request timeout: a client silent this long after its ACK
 * gets its connection from the kernel, as the engine serves a held one locally then. */
#define HELD_ACK_TIMEOUT_MS 5000

struct handshake {
	__u8 state;       /* enum handshake_state */
	__u8 syn_len;     /* bytes of syn: its IPv4 and TCP headers (a SYN with data goes up) */
	__u8 synack_len;  /* bytes of synack, 0 until HS_SYNACK */
	__u8 ended;       /* HS_LOCAL: a FIN or RST passed (counted once: C_LOCAL_ENDED) */
	__u32 isn;        /* the client's initial sequence number */
	__u32 server_isn; /* the kernel's, from its SYN/ACK */
	__u32 held_ms;    /* bpf_ktime_get_ns() / 1e6 | 1 at the first ACK held, 0: none yet */
	__u8 syn[HANDSHAKE_PACKET_MAX];
	__u8 synack[HANDSHAKE_PACKET_MAX];
};

/* local_paths: the request paths this node serves whatever the cluster says, zero-padded; the value
 * counts the connections the programs decided with it. Written by user space. */
#define PATH_KEY_SIZE 128
struct path_key {
	__u8 path[PATH_KEY_SIZE];
};

/* The programs' settings; one element, written by user space before any flow. */
struct datapath_config {
	__be32 local_addr;     /* this node's (service) address */
	__be32 shadow_net;     /* the shadow addresses' /24 (169.254.77.0) */
	__be16 service_port;
	__u16 forward_base;    /* host order: forward ports are forward_base + 1 .. + forward_count */
	__u16 forward_count;
	__u16 reserved;
	__u32 uplink_ifindex;  /* the network side */
	__u32 wire_ifindex;    /* slow path TUN: packets from the network for user space */
	__u32 kernel_ifindex;  /* slow path TUN: packets from the kernel for user space */
	__u32 mark;            /* skb->mark of what user space sends out through the wire TUN */
	__u32 flags;           /* CONFIG_F_* */
};

/* Every TCP packet of this node through user space (the fault module is there and must see them
 * all, the control channel's included). */
#define CONFIG_F_ALL_SLOW 0x01
/* New connections' handshakes pass in the kernel and a request for a path in local_paths is served
 * here without user space (struct handshake). Off: every handshake goes to user space. */
#define CONFIG_F_LOCAL_DECISION 0x02

/* Per-CPU counters, summed by user space. */
enum datapath_counter {
	C_SLOW_FROM_WIRE = 0,  /* service packets from the network sent to user space */
	C_SLOW_FROM_KERNEL,    /* service packets from the kernel sent to user space */
	C_LOCAL_IN,            /* passed on a local flow, network to kernel */
	C_LOCAL_OUT,           /* passed on a local flow, kernel to network */
	C_TO_CHOSEN,           /* translated and sent to the chosen node */
	C_TO_CHOSEN_BYTES,     /* their IP bytes */
	C_FROM_ENTRY,          /* translated to a shadow address, up to the kernel */
	C_TO_CLIENT,           /* translated and sent to the client (super-packets count once) */
	C_TO_CLIENT_BYTES,     /* their TCP payload bytes */
	C_WIRE_OUT,            /* user space's packets sent out of the uplink */
	C_BAD_OPTIONS,         /* TCP options that do not parse: left to user space */
	C_IP_OPTIONS,          /* IPv4 with options or fragments: left to user space */
	C_NO_CONFIG,           /* no config element: passed untouched */
	C_REDIRECT_FAILED,     /* bpf_redirect_neigh found no route or neighbour */
	C_CATCHING_UP,         /* a handed-down flow's packet sent to user space: it had not read all before */
	C_NO_PROGRESS,         /* the progress map is full: the flow's packets go to user space */
	C_CLOSES_PASSED,       /* a local flow's FIN or RST passed, user space told in "closes" */
	C_CLOSES_FULL,         /* ... the ring was full: the segment went to user space instead */
	C_HANDSHAKES,          /* SYNs passed to the kernel, their handshake taken by the programs */
	C_HANDSHAKE_ACKS,      /* ... the client's bare ACK dropped: its request brings it */
	C_DECIDED_LOCAL,       /* ... the request's path is served here: passed, user space not told */
	C_DECIDED_LOCAL_ENDED, /* ... such a connection's first FIN or RST */
	C_REQUESTS_UP,         /* ... the request went to user space to be decided */
	C_SILENT_RELEASED,     /* ... decided here: no request within HELD_ACK_TIMEOUT_MS */
	C_AFTER_LINGER,        /* handshakes taken on the ports of a handoff that lingered (FLOW_F_LINGER) */
	C_ENGINE_WOKEN,        /* closes told while the engine slept, with a wake-up (struct engine_state) */
	C_MAX,
};

#endif

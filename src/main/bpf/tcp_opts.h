/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where a segment's timestamp and SACK options are (RFC 7323 section 3, RFC 2018 section 3).
 *
 *   kind 0 end of list | kind 1 no-op | kind 8 len 10: TSval, TSecr | kind 5 len 2+8n: n (left, right) edges
 *
 * Linux sends two layouts on an established connection, NOP NOP TS and NOP NOP TS NOP NOP SACK; the
 * programs match those in place (tcp_opts_fast) and walk anything else byte by byte in a function
 * of its own (tcp_opts_walk), which the verifier checks once: a walk inlined into a program with
 * direct packet access exceeds its instruction limit.
 */
#ifndef BATON_TCP_OPTS_H
#define BATON_TCP_OPTS_H

#include <linux/types.h>

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8
#define TCPOLEN_TIMESTAMP 10
#define TCP_MAX_OPTIONS 40
#define SACK_MAX_BLOCKS 4

/*
 * What tcp_opts_walk() found, packed into its int result (a global function may return only a
 * scalar): bits 0-7 the timestamp option's offset from the TCP header + 1, bits 8-15 the SACK
 * option's offset + 1 (0: absent), bits 16-18 the number of SACK blocks; negative: malformed.
 */
#define OPTS_TS(r) ((__u32)(r) & 0xff)
#define OPTS_SACK(r) (((__u32)(r) >> 8) & 0xff)
#define OPTS_SACK_BLOCKS(r) (((__u32)(r) >> 16) & 0x7)
#define OPTS_MALFORMED (-1)

static __always_inline int opts_pack(__u32 ts, __u32 sack, __u32 blocks)
{
	return (int)(ts | (sack << 8) | (blocks << 16));
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental checksum updates, RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
 *
 * The programs collect the sum of (~m + m') over every TCP header field they change and hand it to
 * one bpf_l4_csum_replace() by difference: only the kernel knows whether the skb is
 * CHECKSUM_PARTIAL (then its checksum field holds the pseudo-header sum, which header fields must
 * not touch) or carries a full checksum, and inet_proto_csum_replace_by_diff() does the right thing
 * for each. Address changes go through the pseudo-header (BPF_F_PSEUDO_HDR), as Linux's
 * inet_proto_csum_replace4() does.
 *
 * All values are raw: as loaded from the packet, in network byte order, read as host integers.
 * One's complement sums do not care about byte order (RFC 1071 section 2(B)) as long as the sum is
 * stored back the same way, which the kernel's helpers do.
 */
#ifndef BATON_CSUM_H
#define BATON_CSUM_H

#include <linux/types.h>

/*
 * A 32-bit field at an odd offset from the TCP header's start (options may put one there) pairs
 * its bytes with its neighbours' in the 16-bit words the checksum adds: its contribution is that of
 * the value rotated by one byte (the same trick as dev.baton.wire.TcpHeader.replace32).
 */
static __always_inline __u32 csum_align32(__u32 raw, __u32 offset)
{
	return (offset & 1) ? (raw >> 8) | (raw << 24) : raw;
}

/* Adds one 32-bit field's change (raw values, already aligned) to the running difference. */
static __always_inline void csum_diff32(__u64 *diff, __u32 old, __u32 new)
{
	*diff += (__u32)~old;
	*diff += new;
}

/* Adds one 16-bit field's change (raw values at an even offset) to the running difference. */
static __always_inline void csum_diff16(__u64 *diff, __u16 old, __u16 new)
{
	*diff += (__u16)~old;
	*diff += new;
}

/* Folds the 64-bit running difference to the 32-bit one's complement sum the helpers take. */
static __always_inline __u32 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (__u32)sum;
}

/* Folds a 32-bit sum to 16 bits. */
static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * The IPv4 header checksum after one 32-bit word changed (always a full checksum: no offload
 * finishes an IPv4 header), RFC 1624 eqn. 3, as Linux's csum_replace4().
 */
static __always_inline __u16 ip_csum_replace32(__u16 check, __u32 old, __u32 new)
{
	__u64 sum = (__u16)~check;
	csum_diff32(&sum, old, new);
	return (__u16)~csum_fold32(csum_fold64(sum));
}

#endif

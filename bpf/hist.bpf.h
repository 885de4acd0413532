/* log2 histogram slots (layout in common.h). */
#ifndef CROSSTALK_HIST_BPF_H
#define CROSSTALK_HIST_BPF_H

#include <bpf/bpf_helpers.h>
#include "common.h"

/* Position of the highest set bit, plus one (0 for 0): branch-free steps the verifier
 * accepts without a loop. */
static __always_inline __u32 bit_length(__u64 v)
{
	__u32 n = 0, shift;

	shift = (v > 0xffffffffULL) << 5; v >>= shift; n |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; n |= shift;
	shift = (v > 0xff) << 3; v >>= shift; n |= shift;
	shift = (v > 0xf) << 2; v >>= shift; n |= shift;
	shift = (v > 0x3) << 1; v >>= shift; n |= shift;
	n |= (v >> 1);
	return v ? n + 1 : 0;
}

/* The slot of a duration in ns, as a 64-bit value masked after a compiler barrier:
 * otherwise clang may index with an unbounded copy and the verifier refuses it. */
static __always_inline __u64 hist_slot_ns(__u64 ns)
{
	__u64 slot = bit_length(ns / 1000);

	if (slot >= CT_HIST_SLOTS)
		slot = CT_HIST_SLOTS - 1;
	barrier_var(slot);
	return slot & (CT_HIST_SLOTS - 1);
}

#endif

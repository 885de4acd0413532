/* The victim set every probe that takes targets shares with user space: a hash of victim
 * cgroup ids (the map decides) and a bitmap of their hashed ids beside it, so that every
 * other cgroup skips the map lookup with one bit test (targets.bpf.h). A set bit only
 * means "maybe a victim". */
#ifndef CROSSTALK_TARGETS_H
#define CROSSTALK_TARGETS_H

#include "common.h"

#define CT_TARGET_BITS 4096

static inline __u32 ct_target_bit(__u64 cgroup_id)
{
	return (__u32)((cgroup_id * 0x9E3779B97F4A7C15ULL) >> 52); /* Fibonacci hash, 12 bits */
}

#endif

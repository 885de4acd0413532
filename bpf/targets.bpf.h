/* The kernel side of the victim filter (targets.h), included once by each probe that
 * takes targets: the map user space writes, the bitmap beside it, and the every-cgroup
 * switch of the node-local tools. */
#ifndef CROSSTALK_TARGETS_BPF_H
#define CROSSTALK_TARGETS_BPF_H

#include <bpf/bpf_helpers.h>
#include "targets.h"

/* Victim cgroup ids of this probe's hierarchy, written by user space: the one map that
 * holds configuration, because the set changes while the probe runs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_TARGETS);
	__type(key, __u64);
	__type(value, __u8);
} targets SEC(".maps");

/* Written by user space with the targets map. */
__u64 target_bits[CT_TARGET_BITS / 64] = {};

/* Node-local tools (crosstalk top, the snoops): every cgroup is a victim, no targets.
 * Set before load, so the agent's programs are verified without that path. */
const volatile bool all_targets = false;

static __always_inline bool maybe_target(__u64 cgroup)
{
	__u32 bit = ct_target_bit(cgroup);

	if (all_targets)
		return true;
	return target_bits[(bit / 64) & (CT_TARGET_BITS / 64 - 1)] & (1ULL << (bit % 64));
}

static __always_inline bool is_target(__u64 cgroup)
{
	return all_targets || (maybe_target(cgroup) && bpf_map_lookup_elem(&targets, &cgroup) != NULL);
}

#endif

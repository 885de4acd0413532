/* Structures the memory probe shares with bpf/crosstalk.c. */
#ifndef CROSSTALK_MEMORY_H
#define CROSSTALK_MEMORY_H

#include "common.h"

enum ct_reclaim_kind {
	CT_RECLAIM_DIRECT = 0,  /* page allocator: the whole machine is short of memory */
	CT_RECLAIM_MEMCG = 1,   /* a memory cgroup hit its limit */
	CT_RECLAIM_KINDS = 2,
};

/* Per cgroup (unified id of the stalled task). */
struct ct_reclaim_stats {
	__u64 stall_ns[CT_RECLAIM_KINDS];
	__u64 count[CT_RECLAIM_KINDS];
	__u64 pages[CT_RECLAIM_KINDS];  /* pages reclaimed */
};

/* Per task while it reclaims: begin timestamps (nested kinds kept apart). */
struct ct_reclaim_start {
	__u64 begin_ns[CT_RECLAIM_KINDS];
};

/* A reclaim of a victim cgroup's task that stalled longer than the threshold
 * (drsnoop's columns plus kind and cgroup). */
struct ct_reclaim_event {
	__u64 time_ns;      /* CLOCK_MONOTONIC at the end of the stall */
	__u64 latency_ns;
	__u64 pages;
	__u64 cgroup_id;
	__u32 tid;
	__u32 kind;         /* enum ct_reclaim_kind */
	__s32 stack_id;     /* kernel stack; negative errno when none */
	char comm[CT_COMM_LEN];
	__u32 pad;
};

#endif

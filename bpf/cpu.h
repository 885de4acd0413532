/* Structures the cpu probe shares with bpf/crosstalk.c. */
#ifndef CROSSTALK_CPU_H
#define CROSSTALK_CPU_H

#include "common.h"

/* Run segments remembered per CPU for wait attribution (power of two). A victim wait
 * longer than the last CT_RUN_RING segments of its CPU is attributed only for the
 * covered part; the rest is counted as unattributed. */
#define CT_RUN_RING 32

/* A bitmap of victim cgroups (hashed ids), kept beside the targets map by user space:
 * a bit test lets every other cgroup skip the map lookup and the task-storage lookup,
 * the two costliest steps of a sched_switch or wakeup that concerns no victim. A set
 * bit only means "maybe a victim": the map decides. */
#define CT_TARGET_BITS 4096

static inline __u32 ct_target_bit(__u64 cgroup_id)
{
	return (__u32)((cgroup_id * 0x9E3779B97F4A7C15ULL) >> 52); /* Fibonacci hash, 12 bits */
}

/* Per cgroup (every cgroup that ran: the aggressor view), per CPU. */
struct ct_cpu_cgroup {
	__u64 oncpu_ns;     /* time its tasks held a CPU */
	__u64 slices;       /* times one of its tasks was switched out */
	__u64 involuntary;  /* ... while still runnable (preempted), as nivcsw counts */
};

/* Per victim (target) cgroup, per CPU: run-queue waits of its tasks. */
struct ct_runq_victim {
	__u64 wait_ns;          /* enqueue (wakeup or preemption) to switch-in */
	__u64 waits;
	__u64 unattributed_ns;  /* part of wait_ns older than the CPU's run-segment ring */
	__u64 hist[CT_HIST_SLOTS];
};

/* Wait of victim's tasks while aggressor's tasks held the CPU (aggressor 0: the CPU
 * was idle). */
struct ct_pair_key {
	__u64 victim;
	__u64 aggressor;
};

struct ct_run_segment {
	__u64 start;
	__u64 end;
	__u64 cgroup;
};

/* Per CPU: the segment running now and the ring of finished ones. */
struct ct_cpu_state {
	__u64 last_switch;      /* start of the running segment; 0 before the first switch */
	__u64 running_cgroup;   /* cgroup of the running task; 0 for the idle task */
	__u64 head;             /* ring slot written next */
	struct ct_run_segment ring[CT_RUN_RING];
};

#endif

/* Structures the cpu probe shares with bpf/crosstalk.c. */
#ifndef CROSSTALK_CPU_H
#define CROSSTALK_CPU_H

#include "common.h"

/* Run segments remembered per CPU for wait attribution (power of two). A victim wait
 * longer than the last CT_RUN_RING segments of its CPU is attributed only for the
 * covered part; the rest is counted as unattributed. */
#define CT_RUN_RING 32

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
	__u64 unattributed_ns;  /* part of wait_ns older than the CPU's run-segment ring,
				 * or whose pair the full wait_pairs map could not count */
	__u64 hist[CT_HIST_SLOTS];
};

/* Wait of victim's tasks while aggressor's tasks held the CPU (aggressor: a holder key,
 * see CT_HOLDER_*; 0: the CPU was idle). */
struct ct_pair_key {
	__u64 victim;
	__u64 aggressor;
};

/* A task of the root cgroup (kernel threads, processes outside any cgroup) is named by
 * its thread where the victim's waits are split: its holder key is CT_HOLDER_THREAD |
 * pid instead of the root's id, so "/" is never an anonymous aggressor. While it writes
 * back a cgroup's dirty pages (tp_btf only) the key is CT_HOLDER_WRITEBACK | that
 * cgroup's unified id instead: the time is the dirtier's doing. */
#define CT_ROOT_CGROUP 1
#define CT_HOLDER_THREAD (1ULL << 63)
#define CT_HOLDER_WRITEBACK (1ULL << 62)

/* Where the cpu probe learns whose pages a root-cgroup thread writes back. */
enum ct_writeback_owners {
	CT_WRITEBACK_OWNERS_OFF,        /* raw_tp, or no writeback tracepoints */
	CT_WRITEBACK_OWNERS_BLKCG,      /* cgroup v2: the writeback's wb names the dirtier's blkcg */
	CT_WRITEBACK_OWNERS_DIRTIER,    /* v1 blkio: who dirtied the inode's pages last */
};

struct ct_run_segment {
	__u64 start;
	__u64 end;
	__u64 cgroup;           /* holder key: a cgroup id, CT_HOLDER_THREAD | pid,
				 * CT_HOLDER_WRITEBACK | cgroup id, 0: idle */
};

/* Holders kept per slow-wait record; the time of any further ones is summed apart. */
#define CT_RUNQ_HOLDERS 4

/* A cgroup that held the CPU during part of a wait. */
struct ct_runq_holder {
	__u64 cgroup;           /* holder key (CT_HOLDER_*); 0: the CPU was idle */
	__u64 ns;
};

/* A run-queue wait longer than the threshold (runqslower's columns plus who held the
 * CPU meanwhile), recorded only when user space asks for them (CT_OPT_RUNQ_EVENTS). */
struct ct_runq_event {
	__u64 time_ns;          /* CLOCK_MONOTONIC at switch-in */
	__u64 wait_ns;
	__u64 cgroup_id;        /* unified: the waiting task's */
	__u64 unattributed_ns;  /* part of the wait older than the run-segment ring */
	__u64 other_ns;         /* held by cgroups beyond the first CT_RUNQ_HOLDERS */
	__u64 prev_cgroup;      /* the task it replaced on the CPU (0: the idle task) */
	__u32 pid;              /* thread id of the waiting task */
	__u32 cpu;
	__u32 prev_pid;
	__u32 nholders;
	char comm[CT_COMM_LEN];
	char prev_comm[CT_COMM_LEN];
	struct ct_runq_holder holders[CT_RUNQ_HOLDERS]; /* newest first */
};

/* Per CPU: the segment running now and the ring of finished ones. seq is odd while a
 * sched_switch updates it: user space reads it around its walk of the on-CPU counters
 * to credit the running segment to its cgroup exactly once (see cpu.c). */
struct ct_cpu_state {
	__u64 seq;
	__u64 last_switch;      /* start of the running segment; 0 before the first switch */
	__u64 running_cgroup;   /* cgroup of the running task; 0 for the idle task */
	__u64 head;             /* ring slot written next */
	struct ct_run_segment ring[CT_RUN_RING];
};

#endif

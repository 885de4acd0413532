/* Structures the cache probe shares with bpf/crosstalk.c. */
#ifndef CROSSTALK_CACHE_H
#define CROSSTALK_CACHE_H

#include "common.h"

/* The four per-CPU counters user space opens, in this order. */
enum ct_cache_counter {
	CT_CACHE_LLC_REFERENCES = 0,
	CT_CACHE_LLC_MISSES = 1,
	CT_CACHE_CYCLES = 2,
	CT_CACHE_INSTRUCTIONS = 3,
	CT_CACHE_COUNTERS = 4,
};

/* Per cgroup (unified id of the task that ran), per CPU. */
struct ct_cache_stats {
	__u64 count[CT_CACHE_COUNTERS];
};

/* Processes counted per CPU when counting by task (CT_OPT_CACHE_BY_TASK). */
#define CT_MAX_CACHE_TASKS 8192

/* Per process and CPU (llc-stat's rows). */
struct ct_cache_task_key {
	__u32 pid;              /* thread group id */
	__u32 cpu;
};

struct ct_cache_task {
	__u64 count[CT_CACHE_COUNTERS];
	char comm[CT_COMM_LEN]; /* of the thread that ran last */
};

/* Per CPU: counter values when the running cgroup (or, by task, process) last changed. */
struct ct_cache_state {
	__u64 last[CT_CACHE_COUNTERS];
	__u64 running_cgroup;
	__u64 valid;            /* last[] holds a reading */
	__u32 running_pid;      /* by task only */
	__u32 pad;
};

#endif

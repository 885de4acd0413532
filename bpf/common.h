/* Constants and structures every probe shares with user space (bpf/crosstalk.c).
 * Fixed-width types only: both sides compile this file. */
#ifndef CROSSTALK_COMMON_H
#define CROSSTALK_COMMON_H

/* Map sizes. A full map is counted (struct ct_health.map_full), never silent. */
#define CT_MAX_CGROUPS 8192     /* cgroups seen per probe (aggressors included) */
#define CT_MAX_TARGETS 1024     /* victim cgroups set from user space */
#define CT_MAX_PAIRS 16384      /* (victim, aggressor) attribution pairs */

/* log2 histograms in microseconds, bpftrace's hist() layout: slot 0 counts values
 * below 1 us, slot k >= 1 counts [2^(k-1), 2^k) us; the last slot also takes larger. */
#define CT_HIST_SLOTS 32

#define CT_STACK_DEPTH 32       /* kernel frames kept per slow event */
#define CT_COMM_LEN 16

/* Kernel-side failures, kept in each probe's .bss and reported as probe health. */
struct ct_health {
	__u64 map_full;         /* an entry could not be created: its event was not counted */
	__u64 events_dropped;   /* ring buffer full: an event record was lost */
	__u64 stack_errors;     /* bpf_get_stackid failed: a slow event has no stack */
	__u64 read_errors;      /* other per-event failures (perf counter read, task storage) */
};

#endif

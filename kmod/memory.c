// SPDX-License-Identifier: GPL-2.0
/* The memory probe, with the eBPF probe's semantics (bpf/memory.bpf.c): the time tasks
 * spend stalled in direct reclaim (the machine is short of memory) and in memcg reclaim
 * (their cgroup hit its limit), with pages reclaimed, per cgroup of the stalled task;
 * stalls of victims longer than the threshold become events. Begin and end run in the
 * stalled task itself, which may change CPUs in between: begin times are kept per pid.
 * A CPU's reclaim table is written only by this probe there, with preemption off;
 * interrupts are held off around the update and the event, so that neither a forget IPI
 * nor an io completion's event meets them. */
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include "ctk.h"

#define CTK_START_BITS 16

struct ctk_reclaim_start {
	u32 pid;
	u32 reserved;
	u64 begin_ns[CT_RECLAIM_KINDS];
};

static struct ctk_reclaim_start *starts;
static struct tracepoint *tp_direct_begin, *tp_direct_end, *tp_memcg_begin, *tp_memcg_end;
static u64 slow_ns;

int ctk_reclaim_starts_alloc(void)
{
	starts = kvcalloc(1u << CTK_START_BITS, sizeof(*starts), GFP_KERNEL);
	return starts ? 0 : -ENOMEM;
}

void ctk_reclaim_starts_free(void)
{
	kvfree(starts);
	starts = NULL;
}

/* Else a stall begun in one session would end in the next with the time in between. */
void ctk_reclaim_starts_clear(void)
{
	memset(starts, 0, sizeof(*starts) << CTK_START_BITS);
}

static struct ctk_reclaim_start *start_of(const struct task_struct *t)
{
	return &starts[t->pid & ((1u << CTK_START_BITS) - 1)];
}

static void on_begin(u32 kind)
{
	struct ctk_reclaim_start *s = start_of(current);

	if (s->pid != current->pid) {
		if (s->begin_ns[0] || s->begin_ns[1])
			this_cpu_ptr(ctk_cpus)->memory_health.read_errors++;
		s->pid = current->pid;
		s->begin_ns[0] = s->begin_ns[1] = 0;
	}
	s->begin_ns[kind] = ktime_get_mono_fast_ns();
}

static void emit_slow(struct ctk_cpu *c, u32 kind, u64 cgroup, u64 latency, u64 pages, u64 now)
{
	struct ctk_event *ev;
	struct ct_reclaim_event *e;

	if (latency < slow_ns || !ctk_is_target(cgroup))
		return;
	ev = ctk_event_reserve(c);
	if (!ev) {
		c->memory_health.events_dropped++;
		return;
	}
	ev->kind = CTK_EVENT_RECLAIM;
	e = &ev->reclaim;
	memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->latency_ns = latency;
	e->pages = pages;
	e->cgroup_id = cgroup;
	e->tid = current->pid;
	e->kind = kind;
	e->stack_id = -EOPNOTSUPP;
	memcpy(e->comm, current->comm, sizeof(e->comm));
	ctk_event_commit(c);
}

static void on_end(u32 kind, unsigned long pages)
{
	struct ctk_reclaim_start *s = start_of(current);
	u64 now = ktime_get_mono_fast_ns(), begin, latency, cgroup;
	struct ctk_reclaim_slot *stats;
	struct ctk_cpu *c;
	unsigned long flags;

	if (s->pid != current->pid || !s->begin_ns[kind]) /* began before the probe was registered */
		return;
	begin = s->begin_ns[kind];
	s->begin_ns[kind] = 0;
	latency = now > begin ? now - begin : 0;
	cgroup = ctk_task_cgroup_id(current);
	c = this_cpu_ptr(ctk_cpus);
	local_irq_save(flags);
	stats = ctk_table_get(&c->reclaim, &cgroup);
	if (stats) {
		stats->v.stall_ns[kind] += latency;
		stats->v.count[kind]++;
		stats->v.pages[kind] += pages;
	} else {
		c->memory_health.map_full++;
	}
	emit_slow(c, kind, cgroup, latency, pages, now);
	local_irq_restore(flags);
}

static void timed(void (*fn)(u32, unsigned long), u32 kind, unsigned long pages)
{
	bool stats = READ_ONCE(ctk_stats_enabled);
	u64 started = stats ? local_clock() : 0;

	fn(kind, pages);
	if (stats) {
		struct ctk_cpu *c = this_cpu_ptr(ctk_cpus);

		c->run_ns[CTK_HOOK_RECLAIM] += local_clock() - started;
		c->run_count[CTK_HOOK_RECLAIM]++;
	}
}

static void begin_kind(u32 kind, unsigned long unused)
{
	on_begin(kind);
}

static void probe_direct_begin(void *data, int order, gfp_t gfp_flags)
{
	timed(begin_kind, CT_RECLAIM_DIRECT, 0);
}

static void probe_direct_end(void *data, unsigned long nr_reclaimed)
{
	timed(on_end, CT_RECLAIM_DIRECT, nr_reclaimed);
}

static void probe_memcg_begin(void *data, int order, gfp_t gfp_flags)
{
	timed(begin_kind, CT_RECLAIM_MEMCG, 0);
}

static void probe_memcg_end(void *data, unsigned long nr_reclaimed)
{
	timed(on_end, CT_RECLAIM_MEMCG, nr_reclaimed);
}

int ctk_memory_find(bool *memcg)
{
	tp_direct_begin = ctk_tracepoint("mm_vmscan_direct_reclaim_begin");
	tp_direct_end = ctk_tracepoint("mm_vmscan_direct_reclaim_end");
	tp_memcg_begin = ctk_tracepoint("mm_vmscan_memcg_reclaim_begin");
	tp_memcg_end = ctk_tracepoint("mm_vmscan_memcg_reclaim_end");
	*memcg = tp_memcg_begin && tp_memcg_end;
	return tp_direct_begin && tp_direct_end ? 0 : -ENOENT;
}

/* Registered in this order, unregistered in reverse. */
static struct {
	struct tracepoint **tp;
	void *probe;
} hooks[] = {
	{ &tp_direct_begin, probe_direct_begin },
	{ &tp_direct_end, probe_direct_end },
	{ &tp_memcg_begin, probe_memcg_begin },
	{ &tp_memcg_end, probe_memcg_end },
};

static int registered;

void ctk_memory_unregister(void)
{
	while (registered > 0) {
		registered--;
		tracepoint_probe_unregister(*hooks[registered].tp, hooks[registered].probe, NULL);
	}
}

int ctk_memory_register(u64 threshold_ns)
{
	int err;

	slow_ns = threshold_ns;
	for (registered = 0; registered < ARRAY_SIZE(hooks) && *hooks[registered].tp; registered++) {
		err = tracepoint_probe_register(*hooks[registered].tp, hooks[registered].probe, NULL);
		if (err) {
			ctk_memory_unregister();
			return err;
		}
	}
	return 0;
}

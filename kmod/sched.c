// SPDX-License-Identifier: GPL-2.0
/* The cpu probe, with the eBPF probe's semantics (bpf/cpu.bpf.c): every sched_switch
 * closes a run segment in this CPU's ring (CT_RUN_RING) and adds it to the on-CPU time
 * of the cgroup that ran; a victim task is stamped when it enters the run queue (wakeup,
 * or a switch that leaves it runnable), and when it is switched in its wait is
 * histogrammed and split among the holders of the ring's segments overlapping it, the
 * rest unattributed. Root-cgroup holders are named by thread (CT_HOLDER_THREAD).
 * Unlike the eBPF probe it cannot tell a task its own CPU quota throttled (cfs_rq is
 * private to the scheduler): see kmod/README.md. */
#include <linux/cgroup.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/version.h>
#include "ctk.h"

/* One enqueue stamp per pid slot: pid_max is 32768 unless raised; a stamp overwritten by
 * another task of the same slot is counted in read_errors. */
#define CTK_STAMP_BITS 16

struct ctk_stamp {
	u32 pid;
	u32 reserved;
	u64 t0;
};

static struct ctk_stamp *stamps;
static struct tracepoint *tp_switch, *tp_wakeup, *tp_wakeup_new;
static bool runq_events;
static u64 runq_slow_ns;

int ctk_stamps_alloc(void)
{
	stamps = kvcalloc(1u << CTK_STAMP_BITS, sizeof(*stamps), GFP_KERNEL);
	return stamps ? 0 : -ENOMEM;
}

void ctk_stamps_free(void)
{
	kvfree(stamps);
	stamps = NULL;
}

/* Else a victim still queued when a session ends would be charged, in the next one,
 * the time in between. */
void ctk_stamps_clear(void)
{
	memset(stamps, 0, sizeof(*stamps) << CTK_STAMP_BITS);
}

static struct ctk_stamp *stamp_slot(const struct task_struct *t)
{
	return &stamps[t->pid & ((1u << CTK_STAMP_BITS) - 1)];
}

u64 ctk_task_cgroup_id(struct task_struct *t)
{
	struct cgroup *cg;
	u64 id;

	rcu_read_lock();
	cg = task_dfl_cgroup(t);
	id = cg ? cgroup_id(cg) : CT_ROOT_CGROUP;
	rcu_read_unlock();
	return id;
}

static void stamp_enqueue(struct ctk_cpu *c, struct task_struct *t, u64 now)
{
	struct ctk_stamp *s = stamp_slot(t);

	if (READ_ONCE(s->pid) != t->pid) {
		if (READ_ONCE(s->t0))
			c->cpu_health.read_errors++;
		WRITE_ONCE(s->pid, t->pid);
	}
	WRITE_ONCE(s->t0, now);
}

static void add_oncpu(struct ctk_cpu *c, u64 cgroup, u64 ns, bool involuntary)
{
	struct ctk_cgroup_slot *s = ctk_table_get(&c->cgroups, &cgroup);

	if (!s) {
		c->cpu_health.map_full++;
		return;
	}
	s->v.oncpu_ns += ns;
	s->v.slices++;
	if (involuntary)
		s->v.involuntary++;
}

static void note_holder(struct ct_runq_event *e, u64 cgroup, u64 ns)
{
	u32 i;

	for (i = 0; i < e->nholders; i++) {
		if (e->holders[i].cgroup == cgroup) {
			e->holders[i].ns += ns;
			return;
		}
	}
	if (e->nholders < CT_RUNQ_HOLDERS) {
		e->holders[e->nholders].cgroup = cgroup;
		e->holders[e->nholders++].ns = ns;
		return;
	}
	e->other_ns += ns;
}

static void add_share(struct ctk_cpu *c, u64 victim, u64 holder, u64 ns, struct ct_runq_event *e)
{
	struct ctk_pair_slot *p = ctk_table_get(&c->pairs, (u64[]){ victim, holder });

	if (p)
		p->wait_ns += ns;
	else
		c->cpu_health.map_full++;
	if (e)
		note_holder(e, holder, ns);
}

/* Splits [t0, now] among the ring's holders, newest first, consecutive segments of one
 * holder merged; returns the part the ring covered. */
static u64 attribute_wait(struct ctk_cpu *c, u64 victim, u64 t0, u64 now, struct ct_runq_event *e)
{
	u64 covered = 0, pending_holder = 0, pending_ns = 0;
	u32 i;

	for (i = 0; i < CT_RUN_RING; i++) {
		const struct ct_run_segment *seg = &c->ring[(c->head - 1 - i) & (CT_RUN_RING - 1)];
		u64 start = max(seg->start, t0), end = min(seg->end, now);

		if (seg->end <= t0)
			break;
		if (end > start) {
			if (pending_ns && seg->cgroup != pending_holder) {
				add_share(c, victim, pending_holder, pending_ns, e);
				pending_ns = 0;
			}
			pending_holder = seg->cgroup;
			pending_ns += end - start;
			covered += end - start;
		}
		if (seg->start <= t0)
			break;
	}
	if (pending_ns)
		add_share(c, victim, pending_holder, pending_ns, e);
	return covered;
}

static struct ct_runq_event *slow_wait(struct ctk_cpu *c, struct task_struct *next, u64 cgroup,
				       struct task_struct *prev, u64 prev_cgroup, u64 wait, u64 now)
{
	struct ctk_event *ev;
	struct ct_runq_event *e;

	if (!runq_events || wait < runq_slow_ns)
		return NULL;
	ev = ctk_event_reserve(c);
	if (!ev) {
		c->cpu_health.events_dropped++;
		return NULL;
	}
	ev->kind = CTK_EVENT_RUNQ;
	e = &ev->runq;
	memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->wait_ns = wait;
	e->cgroup_id = cgroup;
	e->prev_cgroup = prev->pid ? prev_cgroup : 0;
	e->pid = next->pid;
	e->cpu = smp_processor_id();
	e->prev_pid = prev->pid;
	memcpy(e->comm, next->comm, sizeof(e->comm));
	memcpy(e->prev_comm, prev->comm, sizeof(e->prev_comm));
	return e;
}

static void measure_wait(struct ctk_cpu *c, struct task_struct *next, u64 cgroup, struct task_struct *prev,
			 u64 prev_cgroup, u64 now)
{
	struct ctk_stamp *s = stamp_slot(next);
	struct ctk_victim_slot *v;
	struct ct_runq_event *e;
	u64 t0, wait, covered;

	if (!ctk_maybe_target(cgroup) || READ_ONCE(s->pid) != next->pid)
		return;
	t0 = xchg(&s->t0, 0);
	/* Drops waits of a cgroup removed from the targets while its tasks were queued. */
	if (!t0 || now <= t0 || !ctk_is_target(cgroup))
		return;
	wait = now - t0;
	v = ctk_table_get(&c->victims, &cgroup);
	if (!v) {
		c->cpu_health.map_full++;
		return;
	}
	v->v.wait_ns += wait;
	v->v.waits++;
	v->v.hist[ctk_hist_slot(wait)]++;
	e = slow_wait(c, next, cgroup, prev, prev_cgroup, wait, now);
	covered = attribute_wait(c, cgroup, t0, now, e);
	v->v.unattributed_ns += wait - covered;
	if (e) {
		e->unattributed_ns = wait - covered;
		ctk_event_commit(c);
	}
}

static void account(struct ctk_cpu *c, enum ctk_hook hook, u64 started)
{
	c->run_ns[hook] += local_clock() - started;
	c->run_count[hook]++;
}

/* prev_requeued: prev stays on the run queue (preempted, or still TASK_RUNNING). */
static void on_switch(struct ctk_cpu *c, bool prev_requeued, struct task_struct *prev, struct task_struct *next)
{
	u64 now = ktime_get_mono_fast_ns();
	u64 next_cgroup = next->pid ? ctk_task_cgroup_id(next) : 0;
	u64 prev_cgroup;

	raw_write_seqcount_begin(&c->seq);
	/* The cgroup recorded when prev was switched in on this CPU. */
	prev_cgroup = c->running_cgroup;
	if (c->last_switch) {
		struct ct_run_segment *seg = &c->ring[c->head & (CT_RUN_RING - 1)];

		seg->start = c->last_switch;
		seg->end = now;
		seg->cgroup = prev_cgroup == CT_ROOT_CGROUP && prev->pid ? CT_HOLDER_THREAD | prev->pid : prev_cgroup;
		c->head++;
		if (prev->pid)
			add_oncpu(c, prev_cgroup, now - c->last_switch, prev_requeued);
		if (prev->pid && prev_requeued && ctk_is_target(prev_cgroup))
			stamp_enqueue(c, prev, now);
	}
	c->last_switch = now;
	c->running_cgroup = next_cgroup;
	raw_write_seqcount_end(&c->seq);
	if (next->pid)
		measure_wait(c, next, next_cgroup, prev, prev_cgroup, now);
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 18, 0)
static void probe_switch(void *data, bool preempt, struct task_struct *prev, struct task_struct *next,
			 unsigned int prev_state)
#else
static void probe_switch(void *data, bool preempt, struct task_struct *prev, struct task_struct *next)
#endif
{
	struct ctk_cpu *c = this_cpu_ptr(ctk_cpus);
	bool stats = READ_ONCE(ctk_stats_enabled);
	u64 started = stats ? local_clock() : 0;

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 18, 0)
	unsigned int prev_state = READ_ONCE(prev->__state);
#endif
	on_switch(c, preempt || prev_state == TASK_RUNNING, prev, next);
	if (stats)
		account(c, CTK_HOOK_SWITCH, started);
}

static void probe_wakeup(void *data, struct task_struct *p)
{
	struct ctk_cpu *c = this_cpu_ptr(ctk_cpus);
	bool stats = READ_ONCE(ctk_stats_enabled);
	u64 started = stats ? local_clock() : 0;

	if (p->pid && ctk_is_target(ctk_task_cgroup_id(p)))
		stamp_enqueue(c, p, ktime_get_mono_fast_ns());
	if (stats)
		account(c, CTK_HOOK_WAKEUP, started);
}

int ctk_sched_find(void)
{
	tp_switch = ctk_tracepoint("sched_switch");
	tp_wakeup = ctk_tracepoint("sched_wakeup");
	tp_wakeup_new = ctk_tracepoint("sched_wakeup_new");
	return tp_switch && tp_wakeup && tp_wakeup_new ? 0 : -ENOENT;
}

int ctk_sched_register(bool want_runq_events, u64 slow_ns)
{
	int err;

	runq_events = want_runq_events;
	runq_slow_ns = slow_ns;
	err = tracepoint_probe_register(tp_switch, probe_switch, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(tp_wakeup, probe_wakeup, NULL);
	if (err)
		goto switch_registered;
	err = tracepoint_probe_register(tp_wakeup_new, probe_wakeup, NULL);
	if (!err)
		return 0;
	tracepoint_probe_unregister(tp_wakeup, probe_wakeup, NULL);
switch_registered:
	tracepoint_probe_unregister(tp_switch, probe_switch, NULL);
	return err;
}

void ctk_sched_unregister(void)
{
	tracepoint_probe_unregister(tp_wakeup_new, probe_wakeup, NULL);
	tracepoint_probe_unregister(tp_wakeup, probe_wakeup, NULL);
	tracepoint_probe_unregister(tp_switch, probe_switch, NULL);
}

/* The cgroups table of one CPU, with the segment running there credited up to at_ns.
 * The seqcount makes the walk and the running segment one snapshot, so each nanosecond
 * is counted once: by the credit now, or by the table once the segment ends. */
u32 ctk_sched_copy_cgroups(struct ctk_cpu *c, int cpu, struct ctk_cgroup_record *out, u64 at_ns)
{
	u32 n = 0, i, tries;

	for (tries = 0; tries < 4; tries++) {
		unsigned int seq = raw_read_seqcount_begin(&c->seq);
		u64 start, cgroup;

		n = ctk_table_copy(&c->cgroups, cpu, out);
		start = READ_ONCE(c->last_switch);
		cgroup = READ_ONCE(c->running_cgroup);
		if (read_seqcount_retry(&c->seq, seq))
			continue;
		if (!cgroup || !start || at_ns <= start)
			return n;
		for (i = 0; i < n && out[i].id != cgroup; i++)
			;
		if (i == n) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].id = cgroup;
			out[n++].cpu = cpu;
		}
		out[i].v.oncpu_ns += at_ns - start;
		return n;
	}
	return n; /* the CPU kept switching: its running segment waits for the next read */
}

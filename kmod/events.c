// SPDX-License-Identifier: GPL-2.0
/* Events: one ring per CPU, single producer (that CPU's probes, interrupts off from
 * reserve to commit, so that an io completion never comes in between), single consumer
 * (read(), under the device's mutex). read() hands out whole struct ctk_event records,
 * oldest first across the CPUs. The lifecycle probe (cgroup_mkdir/rmdir, every
 * hierarchy) sends its events here, like the eBPF lifecycle probe's ring buffer. */
#include <linux/cgroup.h>
#include <linux/sched/clock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include "ctk.h"

static struct tracepoint *tp_mkdir, *tp_rmdir;

struct ctk_event *ctk_event_reserve(struct ctk_cpu *c)
{
	struct ctk_ring *ring = c->events;
	u64 head = ring->head;

	if (head - smp_load_acquire(&ring->tail) >= CTK_EVENT_SLOTS)
		return NULL;
	return &ring->slot[head % CTK_EVENT_SLOTS];
}

void ctk_event_commit(struct ctk_cpu *c)
{
	smp_store_release(&c->events->head, c->events->head + 1);
}

static void emit(u32 kind, struct cgroup *cgrp, const char *path)
{
	struct ctk_cpu *c = this_cpu_ptr(ctk_cpus);
	bool stats = READ_ONCE(ctk_stats_enabled);
	u64 started = stats ? local_clock() : 0;
	unsigned long flags;
	struct ctk_event *ev;

	local_irq_save(flags);
	ev = ctk_event_reserve(c);
	if (ev) {
		struct ct_cgroup_event *e = &ev->cgroup;

		ev->kind = CTK_EVENT_CGROUP;
		e->time_ns = ktime_get_mono_fast_ns();
		e->cgroup_id = cgroup_id(cgrp);
		e->kind = kind;
		e->hierarchy_id = cgrp->root->hierarchy_id;
		e->level = cgrp->level;
		e->path_truncated = strscpy(e->path, path, sizeof(e->path)) == -E2BIG;
		ctk_event_commit(c);
	} else {
		c->lifecycle_health.events_dropped++;
	}
	local_irq_restore(flags);
	if (stats) {
		c->run_ns[CTK_HOOK_CGROUP] += local_clock() - started;
		c->run_count[CTK_HOOK_CGROUP]++;
	}
}

static void probe_mkdir(void *data, struct cgroup *cgrp, const char *path)
{
	emit(CT_CGROUP_MKDIR, cgrp, path);
}

static void probe_rmdir(void *data, struct cgroup *cgrp, const char *path)
{
	emit(CT_CGROUP_RMDIR, cgrp, path);
}

int ctk_lifecycle_find(void)
{
	tp_mkdir = ctk_tracepoint("cgroup_mkdir");
	tp_rmdir = ctk_tracepoint("cgroup_rmdir");
	return tp_mkdir && tp_rmdir ? 0 : -ENOENT;
}

int ctk_lifecycle_register(void)
{
	int err = tracepoint_probe_register(tp_mkdir, probe_mkdir, NULL);

	if (err)
		return err;
	err = tracepoint_probe_register(tp_rmdir, probe_rmdir, NULL);
	if (err)
		tracepoint_probe_unregister(tp_mkdir, probe_mkdir, NULL);
	return err;
}

void ctk_lifecycle_unregister(void)
{
	tracepoint_probe_unregister(tp_rmdir, probe_rmdir, NULL);
	tracepoint_probe_unregister(tp_mkdir, probe_mkdir, NULL);
}

/* The ring whose next event is the oldest, or NULL when every ring is empty. */
static struct ctk_ring *oldest_ring(void)
{
	struct ctk_ring *best = NULL;
	u64 best_time = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct ctk_ring *ring = per_cpu_ptr(ctk_cpus, cpu)->events;
		u64 tail = ring->tail;
		u64 time;

		if (tail == smp_load_acquire(&ring->head))
			continue;
		time = ring->slot[tail % CTK_EVENT_SLOTS].time_ns;
		if (!best || time < best_time) {
			best = ring;
			best_time = time;
		}
	}
	return best;
}

ssize_t ctk_events_read(char __user *buf, size_t len)
{
	size_t used = 0;
	struct ctk_ring *ring;

	while (len - used >= sizeof(struct ctk_event) && (ring = oldest_ring())) {
		if (copy_to_user(buf + used, &ring->slot[ring->tail % CTK_EVENT_SLOTS], sizeof(struct ctk_event)))
			return used ? used : -EFAULT;
		smp_store_release(&ring->tail, ring->tail + 1);
		used += sizeof(struct ctk_event);
	}
	return used;
}

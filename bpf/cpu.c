// SPDX-License-Identifier: GPL-2.0
/* The cpu probe's piece of the loader: load (tp_btf or raw_tp), attach, read. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "session.h"
#include "cpu.skel.h"

/* On-CPU time is added when a task is switched out, so a task that holds its CPU for
 * seconds (a burner alone on its CPU) would show nothing for whole windows. Each read
 * therefore credits the segment running on each CPU, up to the window's end, to its
 * cgroup. The credit must count each nanosecond once, in cumulative counters that never
 * go back: the per-CPU state is read before and after the walk of cpu_cgroups, and a
 * CPU whose seqcount moved meanwhile (a switch may have added the segment during the
 * walk) gets its slot re-read instead of a credit. */
struct ct_cpu_now {
	__u64 seq, start, cgroup;
};

struct ct_running_segment {
	struct ct_cpu_now before;               /* the CPU's state before the walk */
	struct ct_cpu_cgroup_record *record;    /* the cgroup's record in this window */
	__u64 walked_oncpu;                     /* the CPU's slot of it, as the walk read it */
};

/* Whose pages a root-cgroup thread writes back, and how the probe learns it: tp_btf only
 * (task storage); cgroup v2 writeback names the dirtier's blkcg, v1 blkio cannot. */
static enum ct_writeback_owners writeback_owners(const struct ct_session *s, bool use_btf)
{
	if (!use_btf || !ct_tracepoint_exists(s, "writeback_single_inode_start") ||
	    !ct_tracepoint_exists(s, "writeback_single_inode"))
		return CT_WRITEBACK_OWNERS_OFF;
	if (ct_blkio_hierarchy() == CT_UNIFIED_HIERARCHY)
		return CT_WRITEBACK_OWNERS_BLKCG;
	return ct_tracepoint_exists(s, "writeback_dirty_folio") ? CT_WRITEBACK_OWNERS_DIRTIER : CT_WRITEBACK_OWNERS_OFF;
}

static int cpu_load(struct ct_session *s, const struct ct_options *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	enum ct_writeback_owners owners;
	bool use_btf;
	int err;

	if (!ct_tracepoint_exists(s, "sched_switch") || !ct_tracepoint_exists(s, "sched_wakeup"))
		return ct_probe_fail(s, CT_PROBE_CPU, CT_STATE_UNSUPPORTED, -ENOENT, "load",
				     "the kernel has no sched_switch/sched_wakeup tracepoints");
	s->cpu = cpu_bpf__open_opts(&open_opts);
	if (!s->cpu)
		return ct_probe_fail(s, CT_PROBE_CPU, CT_STATE_FAILED, -errno, "open", "cannot open the cpu probe");
	s->status[CT_PROBE_CPU].hierarchy_id = CT_UNIFIED_HIERARCHY;
	use_btf = ct_choose_attach_mode(s, CT_PROBE_CPU, s->cpu->obj, "sched_switch", o);
	/* Enqueue stamps: task storage for tp_btf, a pid hash for raw_tp. */
	bpf_map__set_autocreate(use_btf ? s->cpu->maps.enqueued_at_by_pid : s->cpu->maps.enqueued_at, false);
	owners = writeback_owners(s, use_btf);
	s->cpu->rodata->writeback_owners = owners;
	bpf_program__set_autoload(s->cpu->progs.cpu_writeback_start_btf, owners != CT_WRITEBACK_OWNERS_OFF);
	bpf_program__set_autoload(s->cpu->progs.cpu_writeback_end_btf, owners != CT_WRITEBACK_OWNERS_OFF);
	bpf_map__set_autocreate(s->cpu->maps.writing_back, owners != CT_WRITEBACK_OWNERS_OFF);
	bpf_program__set_autoload(s->cpu->progs.cpu_dirty_folio_btf, owners == CT_WRITEBACK_OWNERS_DIRTIER);
	bpf_map__set_autocreate(s->cpu->maps.inode_dirtiers, owners == CT_WRITEBACK_OWNERS_DIRTIER);
	s->cpu->rodata->all_targets = (o->flags & CT_OPT_ALL_CGROUPS) != 0;
	s->cpu->rodata->runq_events = (o->flags & CT_OPT_RUNQ_EVENTS) != 0;
	s->cpu->rodata->runq_slow_ns = o->runq_slow_ns;
	s->running = calloc(s->ncpus, sizeof(*s->running));
	if (!s->running)
		return ct_probe_fail(s, CT_PROBE_CPU, CT_STATE_FAILED, -ENOMEM, "open", "out of memory");
	if (!(o->flags & CT_OPT_RUNQ_EVENTS))
		bpf_map__set_max_entries(s->cpu->maps.slow_waits, getpagesize());
	err = ct_apply_test_sizes(s->cpu->obj, o);
	if (!err)
		err = cpu_bpf__load(s->cpu);
	if (err)
		return ct_load_failed(s, CT_PROBE_CPU, err);
	s->probe[CT_PROBE_CPU] = (struct ct_probe_info){
		.ops = &ct_cpu_ops,
		.obj = s->cpu->obj,
		.health = &s->cpu->bss->health,
		.targets = s->cpu->maps.targets,
		.target_bits = s->cpu->bss->target_bits,
		.events = s->cpu->maps.slow_waits,
		.event_kind = CT_SECTION_RUNQ_EVENTS,
		.sample_size = sizeof(struct ct_runq_event),
		.record_size = sizeof(struct ct_runq_event),
	};
	return 0;
}

static int cpu_attach(struct ct_session *s)
{
	int err = cpu_bpf__attach(s->cpu);

	return err ? ct_probe_fail(s, CT_PROBE_CPU, CT_STATE_FAILED, err, "attach",
				   "cannot attach the cpu probe to sched_switch/sched_wakeup")
		   : 0;
}

/* Each CPU's seqcount, segment start and running cgroup; NULL when out of memory. */
static struct ct_cpu_now *read_cpu_now(struct ct_session *s)
{
	size_t stride = (sizeof(struct ct_cpu_state) + 7) / 8 * 8;
	unsigned char *values = malloc(stride * s->ncpus);
	struct ct_cpu_now *out = malloc(sizeof(*out) * s->ncpus);
	__u32 zero = 0;

	if (!values || !out || bpf_map_lookup_elem(bpf_map__fd(s->cpu->maps.cpu_state), &zero, values)) {
		free(values);
		free(out);
		return NULL;
	}
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		const struct ct_cpu_state *st = (const void *)(values + (size_t)cpu * stride);

		out[cpu] = (struct ct_cpu_now){ .seq = st->seq, .start = st->last_switch, .cgroup = st->running_cgroup };
	}
	free(values);
	return out;
}

static int put_cgroup(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		      const void *values, size_t stride)
{
	__u64 id = *(const __u64 *)key;
	bool dead = ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, id);
	struct ct_cpu_cgroup_record *r = ct_record_add(w, h);

	if (!r)
		return -ENOSPC;
	r->cgroup_id = id;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	ct_sum_u64((__u64 *)&r->v, values, stride, s->ncpus, sizeof(r->v) / sizeof(__u64));
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		struct ct_running_segment *seg = &s->running[cpu];

		if (seg->before.cgroup == id && !dead) {
			seg->record = r;
			seg->walked_oncpu = ((const struct ct_cpu_cgroup *)((const char *)values + cpu * stride))->oncpu_ns;
		}
	}
	return dead;
}

/* The record of a running cgroup the walk did not see (no segment of it ended yet). */
static struct ct_cpu_cgroup_record *running_record(struct ct_session *s, struct ct_writer *w,
						   struct ct_section_header *h, __u64 id)
{
	struct ct_cpu_cgroup_record *r = ct_record_add(w, h);

	if (!r)
		return NULL;
	r->cgroup_id = id;
	for (int cpu = 0; cpu < s->ncpus; cpu++)
		if (s->running[cpu].before.cgroup == id)
			s->running[cpu].record = r;
	return r;
}

/* The CPU's slot of the cgroup's on-CPU time now: never below what the walk read (the
 * slot only grows), which is also the answer when it cannot be read again. */
static __u64 current_oncpu(struct ct_session *s, __u64 id, int cpu, __u64 walked)
{
	struct ct_cpu_cgroup *values = calloc(s->ncpus, sizeof(*values));
	__u64 ns = walked;

	if (values && !bpf_map_lookup_elem(bpf_map__fd(s->cpu->maps.cpu_cgroups), &id, values) &&
	    values[cpu].oncpu_ns > walked)
		ns = values[cpu].oncpu_ns;
	free(values);
	return ns;
}

static int credit_running(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h,
			  const struct ct_cpu_now *after)
{
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		struct ct_running_segment *seg = &s->running[cpu];
		const struct ct_cpu_now *b = &seg->before;
		bool settled = b->seq % 2 == 0 && after[cpu].seq == b->seq;

		if (!b->cgroup || ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, b->cgroup))
			continue;
		if (!seg->record && !running_record(s, w, h, b->cgroup))
			return -ENOSPC;
		if (settled)
			seg->record->v.oncpu_ns += b->start < w->time_ns ? w->time_ns - b->start : 0;
		else
			seg->record->v.oncpu_ns += current_oncpu(s, b->cgroup, cpu, seg->walked_oncpu) - seg->walked_oncpu;
	}
	return 0;
}

static int put_cgroups(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h)
{
	struct ct_cpu_now *before = read_cpu_now(s), *after = NULL;
	int err;

	if (!before)
		return -ENOMEM;
	for (int cpu = 0; cpu < s->ncpus; cpu++)
		s->running[cpu] = (struct ct_running_segment){ .before = before[cpu] };
	free(before);
	err = ct_walk_map(s, w, h, s->cpu->maps.cpu_cgroups, put_cgroup);
	if (!err)
		err = (after = read_cpu_now(s)) ? credit_running(s, w, h, after) : -ENOMEM;
	free(after);
	return err;
}

static int put_victim(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		      const void *values, size_t stride)
{
	__u64 id = *(const __u64 *)key;
	bool dead = ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, id);
	struct ct_runq_victim_record *r = ct_record_add(w, h);

	if (!r)
		return -ENOSPC;
	r->cgroup_id = id;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	ct_sum_u64((__u64 *)&r->v, values, stride, s->ncpus, sizeof(r->v) / sizeof(__u64));
	return dead;
}

static int put_pair(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		    const void *values, size_t stride)
{
	const struct ct_pair_key *k = key;
	/* A cgroup that held the CPU by kernel threads' writeback dies as itself. */
	bool dead = ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, k->victim) ||
		    ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, k->aggressor & ~CT_HOLDER_WRITEBACK);
	struct ct_wait_pair_record *r = ct_record_add(w, h);

	if (!r)
		return -ENOSPC;
	r->victim = k->victim;
	r->aggressor = k->aggressor;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	ct_sum_u64(&r->wait_ns, values, stride, s->ncpus, 1);
	return dead;
}

static int cpu_read(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h;
	int err;

	if (!(h = ct_section_begin(w, CT_SECTION_CPU_CGROUPS, sizeof(struct ct_cpu_cgroup_record))))
		return -ENOSPC;
	if ((err = put_cgroups(s, w, h)))
		return err;
	if (!(h = ct_section_begin(w, CT_SECTION_RUNQ_VICTIMS, sizeof(struct ct_runq_victim_record))))
		return -ENOSPC;
	if ((err = ct_walk_map(s, w, h, s->cpu->maps.runq_victims, put_victim)))
		return err;
	if (!(h = ct_section_begin(w, CT_SECTION_WAIT_PAIRS, sizeof(struct ct_wait_pair_record))))
		return -ENOSPC;
	return ct_walk_map(s, w, h, s->cpu->maps.wait_pairs, put_pair);
}

static void cpu_destroy(struct ct_session *s)
{
	cpu_bpf__destroy(s->cpu);
	s->cpu = NULL;
	free(s->running);
	s->running = NULL;
}

const struct ct_probe_ops ct_cpu_ops = {
	.name = "cpu",
	.load = cpu_load,
	.attach = cpu_attach,
	.read = cpu_read,
	.destroy = cpu_destroy,
};

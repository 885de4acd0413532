// SPDX-License-Identifier: GPL-2.0
/* The io probe's piece of the loader. Its cgroup ids are blkcg ids: those of the v1
 * blkio hierarchy when blkio is mounted as v1 (hybrid hosts), else unified ids. */
#include <errno.h>
#include <stdio.h>
#include "session.h"
#include "io.skel.h"

static int io_load(struct ct_session *s, const struct ct_options *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	int issue_args = ct_tracepoint_arity(s, "block_rq_issue");
	int hierarchy, err;
	bool use_btf;

	if (issue_args < 0 || !ct_tracepoint_exists(s, "block_rq_insert") || !ct_tracepoint_exists(s, "block_rq_complete"))
		return ct_probe_fail(s, CT_PROBE_IO, CT_STATE_UNSUPPORTED, -ENOENT, "load",
				     "the kernel has no block_rq_insert/issue/complete tracepoints");
	s->io = io_bpf__open_opts(&open_opts);
	if (!s->io)
		return ct_probe_fail(s, CT_PROBE_IO, CT_STATE_FAILED, -errno, "open", "cannot open the io probe");
	hierarchy = ct_blkio_hierarchy();
	s->status[CT_PROBE_IO].hierarchy_id = hierarchy;
	use_btf = ct_choose_attach_mode(s, CT_PROBE_IO, s->io->obj, "block_rq_issue", o);
	s->io->rodata->slow_ns = o->io_slow_ns;
	s->io->rodata->capture_stacks = (o->flags & CT_OPT_CAPTURE_STACKS) != 0;
	s->io->rodata->rq_is_second_arg = issue_args == 2; /* (q, rq) before 5.11 */
	s->io->rodata->all_targets = (o->flags & CT_OPT_ALL_CGROUPS) != 0;
	/* v1 blkio cannot follow dirty pages: writeback bios carry the root blkcg. */
	s->io->rodata->charge_writeback_to_dirtier = hierarchy != CT_UNIFIED_HIERARCHY;
	if (!use_btf || hierarchy == CT_UNIFIED_HIERARCHY || !ct_tracepoint_exists(s, "writeback_dirty_folio"))
		bpf_program__set_autoload(s->io->progs.io_dirty_folio_btf, false);
	if (!use_btf || !ct_tracepoint_exists(s, "block_rq_merge"))
		bpf_program__set_autoload(s->io->progs.io_merge_btf, false);
	if (!use_btf || !ct_tracepoint_exists(s, "block_rq_requeue"))
		bpf_program__set_autoload(s->io->progs.io_requeue_btf, false);
	if (!use_btf)
		snprintf(s->status[CT_PROBE_IO].message, sizeof(s->status[CT_PROBE_IO].message),
			 "raw_tp fallback: no delay attribution (it needs tp_btf for its per-device lock)");
	if (!(o->flags & CT_OPT_CAPTURE_STACKS))
		bpf_map__set_max_entries(s->io->maps.io_stacks, 1);
	err = ct_apply_test_sizes(s->io->obj, o);
	if (!err)
		err = io_bpf__load(s->io);
	if (err)
		return ct_load_failed(s, CT_PROBE_IO, err);
	s->probe[CT_PROBE_IO] = (struct ct_probe_info){
		.ops = &ct_io_ops,
		.obj = s->io->obj,
		.health = &s->io->bss->health,
		.targets = s->io->maps.targets,
		.target_bits = s->io->bss->target_bits,
		.events = s->io->maps.io_events,
		.event_kind = CT_SECTION_IO_EVENTS,
		.sample_size = sizeof(struct ct_io_event),
		.record_size = sizeof(struct ct_io_event_record),
		.stacks = s->io->maps.io_stacks,
		.stack_id_offset = offsetof(struct ct_io_event, stack_id),
	};
	return 0;
}

static int io_attach(struct ct_session *s)
{
	int err = io_bpf__attach(s->io);

	return err ? ct_probe_fail(s, CT_PROBE_IO, CT_STATE_FAILED, err, "attach",
				   "cannot attach the io probe to the block_rq tracepoints")
		   : 0;
}

static bool owner_dead(struct ct_session *s, struct ct_writer *w, const struct ct_io_key *k)
{
	return ct_dead_contains(&w->dead, s->status[CT_PROBE_IO].hierarchy_id, k->cgroup);
}

static int put_stats(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		     const void *values, size_t stride)
{
	bool dead = owner_dead(s, w, key);
	struct ct_io_stats_record *r = ct_record_add(w, h);

	(void)stride;
	if (!r)
		return -ENOSPC;
	r->key = *(const struct ct_io_key *)key;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	r->v = *(const struct ct_io_stats *)values;
	return dead;
}

static int put_latency(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		       const void *values, size_t stride)
{
	bool dead = owner_dead(s, w, key);
	struct ct_io_latency_record *r = ct_record_add(w, h);

	(void)stride;
	if (!r)
		return -ENOSPC;
	r->key = *(const struct ct_io_key *)key;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	r->v = *(const struct ct_io_latency *)values;
	return dead;
}

static int put_delay(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		     const void *values, size_t stride)
{
	const struct ct_io_delay_key *k = key;
	int hierarchy = s->status[CT_PROBE_IO].hierarchy_id;
	bool dead = ct_dead_contains(&w->dead, hierarchy, k->victim) || ct_dead_contains(&w->dead, hierarchy, k->holder);
	struct ct_io_delay_record *r = ct_record_add(w, h);

	(void)stride;
	if (!r)
		return -ENOSPC;
	r->key = *k;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	r->v = *(const struct ct_io_delay *)values;
	return dead;
}

static int io_read(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h;
	int err;

	if (!(h = ct_section_begin(w, CT_SECTION_IO_STATS, sizeof(struct ct_io_stats_record))))
		return -ENOSPC;
	if ((err = ct_walk_map(s, w, h, s->io->maps.io_stats, put_stats)))
		return err;
	if (!(h = ct_section_begin(w, CT_SECTION_IO_LATENCY, sizeof(struct ct_io_latency_record))))
		return -ENOSPC;
	if ((err = ct_walk_map(s, w, h, s->io->maps.io_latency, put_latency)))
		return err;
	if (!(h = ct_section_begin(w, CT_SECTION_IO_DELAYS, sizeof(struct ct_io_delay_record))))
		return -ENOSPC;
	return ct_walk_map(s, w, h, s->io->maps.io_delays, put_delay);
}

static void io_destroy(struct ct_session *s)
{
	io_bpf__destroy(s->io);
	s->io = NULL;
}

const struct ct_probe_ops ct_io_ops = {
	.name = "io",
	.load = io_load,
	.attach = io_attach,
	.read = io_read,
	.destroy = io_destroy,
};

// SPDX-License-Identifier: GPL-2.0
/* The memory probe's piece of the loader. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "session.h"
#include "memory.skel.h"

static int memory_load(struct ct_session *s, const struct ct_options *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	bool memcg = ct_tracepoint_exists(s, "mm_vmscan_memcg_reclaim_begin");
	struct bpf_program *prog;
	int err;

	if (!ct_tracepoint_exists(s, "mm_vmscan_direct_reclaim_begin"))
		return ct_probe_fail(s, CT_PROBE_MEMORY, CT_STATE_UNSUPPORTED, -ENOENT, "load",
				     "the kernel has no mm_vmscan_direct_reclaim tracepoints");
	s->memory = memory_bpf__open_opts(&open_opts);
	if (!s->memory)
		return ct_probe_fail(s, CT_PROBE_MEMORY, CT_STATE_FAILED, -errno, "open", "cannot open the memory probe");
	s->status[CT_PROBE_MEMORY].hierarchy_id = CT_UNIFIED_HIERARCHY;
	ct_choose_attach_mode(s, CT_PROBE_MEMORY, s->memory->obj, "mm_vmscan_direct_reclaim_begin", o);
	/* Without CONFIG_MEMCG only direct reclaim can be measured. */
	if (!memcg) {
		bpf_object__for_each_program(prog, s->memory->obj)
			if (strstr(bpf_program__name(prog), "_memcg_"))
				bpf_program__set_autoload(prog, false);
		snprintf(s->status[CT_PROBE_MEMORY].message, sizeof(s->status[CT_PROBE_MEMORY].message),
			 "the kernel has no memcg reclaim tracepoints (CONFIG_MEMCG off): direct reclaim only");
	}
	s->memory->rodata->slow_ns = o->reclaim_slow_ns;
	s->memory->rodata->capture_stacks = (o->flags & CT_OPT_CAPTURE_STACKS) != 0;
	s->memory->rodata->all_targets = (o->flags & CT_OPT_ALL_CGROUPS) != 0;
	if (!(o->flags & CT_OPT_CAPTURE_STACKS))
		bpf_map__set_max_entries(s->memory->maps.reclaim_stacks, 1);
	err = ct_apply_test_sizes(s->memory->obj, o);
	if (!err)
		err = memory_bpf__load(s->memory);
	if (err)
		return ct_load_failed(s, CT_PROBE_MEMORY, err);
	s->probe[CT_PROBE_MEMORY] = (struct ct_probe_info){
		.ops = &ct_memory_ops,
		.obj = s->memory->obj,
		.health = &s->memory->bss->health,
		.targets = s->memory->maps.targets,
		.target_bits = s->memory->bss->target_bits,
		.events = s->memory->maps.reclaim_events,
		.event_kind = CT_SECTION_RECLAIM_EVENTS,
		.sample_size = sizeof(struct ct_reclaim_event),
		.record_size = sizeof(struct ct_reclaim_event_record),
		.stacks = s->memory->maps.reclaim_stacks,
		.stack_id_offset = offsetof(struct ct_reclaim_event, stack_id),
	};
	return 0;
}

static int memory_attach(struct ct_session *s)
{
	int err = memory_bpf__attach(s->memory);

	return err ? ct_probe_fail(s, CT_PROBE_MEMORY, CT_STATE_FAILED, err, "attach",
				   "cannot attach the memory probe to the vmscan tracepoints")
		   : 0;
}

static int put_reclaim(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		       const void *values, size_t stride)
{
	__u64 id = *(const __u64 *)key;
	bool dead = ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, id);
	struct ct_reclaim_record *r = ct_record_add(w, h);

	(void)s;
	(void)stride;
	if (!r)
		return -ENOSPC;
	r->cgroup_id = id;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	r->v = *(const struct ct_reclaim_stats *)values;
	return dead;
}

static int memory_read(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_RECLAIM, sizeof(struct ct_reclaim_record));

	return h ? ct_walk_map(s, w, h, s->memory->maps.reclaim_stats, put_reclaim) : -ENOSPC;
}

static void memory_destroy(struct ct_session *s)
{
	memory_bpf__destroy(s->memory);
	s->memory = NULL;
}

const struct ct_probe_ops ct_memory_ops = {
	.name = "memory",
	.load = memory_load,
	.attach = memory_attach,
	.read = memory_read,
	.destroy = memory_destroy,
};

// SPDX-License-Identifier: GPL-2.0
/* The lifecycle probe's piece of the loader. Its events are pumped by events.c; an
 * rmdir makes the cgroup a tombstone at once, before any window reads its counters. */
#include <errno.h>
#include "session.h"
#include "lifecycle.skel.h"

static int lifecycle_load(struct ct_session *s, const struct ct_options *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	int err;

	if (!ct_tracepoint_exists(s, "cgroup_mkdir") || !ct_tracepoint_exists(s, "cgroup_rmdir"))
		return ct_probe_fail(s, CT_PROBE_LIFECYCLE, CT_STATE_UNSUPPORTED, -ENOENT, "load",
				     "the kernel has no cgroup_mkdir/cgroup_rmdir tracepoints");
	s->lifecycle = lifecycle_bpf__open_opts(&open_opts);
	if (!s->lifecycle)
		return ct_probe_fail(s, CT_PROBE_LIFECYCLE, CT_STATE_FAILED, -errno, "open",
				     "cannot open the lifecycle probe");
	ct_choose_attach_mode(s, CT_PROBE_LIFECYCLE, s->lifecycle->obj, "cgroup_mkdir", o);
	err = ct_apply_test_sizes(s->lifecycle->obj, o);
	if (!err)
		err = lifecycle_bpf__load(s->lifecycle);
	if (err)
		return ct_load_failed(s, CT_PROBE_LIFECYCLE, err);
	s->probe[CT_PROBE_LIFECYCLE] = (struct ct_probe_info){
		.ops = &ct_lifecycle_ops,
		.obj = s->lifecycle->obj,
		.health = &s->lifecycle->bss->health,
		.events = s->lifecycle->maps.cgroup_events,
		.event_kind = CT_SECTION_CGROUP_EVENTS,
		.sample_size = sizeof(struct ct_cgroup_event),
		.record_size = sizeof(struct ct_cgroup_event),
	};
	return 0;
}

static int lifecycle_attach(struct ct_session *s)
{
	int err = lifecycle_bpf__attach(s->lifecycle);

	return err ? ct_probe_fail(s, CT_PROBE_LIFECYCLE, CT_STATE_FAILED, err, "attach",
				   "cannot attach the lifecycle probe to cgroup_mkdir/cgroup_rmdir")
		   : 0;
}

static void lifecycle_destroy(struct ct_session *s)
{
	lifecycle_bpf__destroy(s->lifecycle);
	s->lifecycle = NULL;
}

void ct_lifecycle_on_event(struct ct_session *s, const void *sample)
{
	const struct ct_cgroup_event *e = sample;

	if (e->kind == CT_CGROUP_RMDIR)
		ct_dead_add(&s->dead, e->hierarchy_id, e->cgroup_id);
}

const struct ct_probe_ops ct_lifecycle_ops = {
	.name = "lifecycle",
	.load = lifecycle_load,
	.attach = lifecycle_attach,
	.destroy = lifecycle_destroy,
	.on_event = ct_lifecycle_on_event,
};

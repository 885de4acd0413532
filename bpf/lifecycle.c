// SPDX-License-Identifier: GPL-2.0
/* The lifecycle probe's piece of the loader. Its events are pumped by events.c. */
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
	err = lifecycle_bpf__load(s->lifecycle);
	return err ? ct_load_failed(s, CT_PROBE_LIFECYCLE, err) : 0;
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

static const struct ct_health *lifecycle_health(const struct ct_session *s)
{
	return &s->lifecycle->bss->health;
}

static struct bpf_object *lifecycle_object(const struct ct_session *s)
{
	return s->lifecycle->obj;
}

static struct bpf_map *lifecycle_events(const struct ct_session *s)
{
	return s->lifecycle->maps.cgroup_events;
}

const struct ct_probe_ops ct_lifecycle_ops = {
	.load = lifecycle_load,
	.attach = lifecycle_attach,
	.read = NULL, /* events only */
	.destroy = lifecycle_destroy,
	.health = lifecycle_health,
	.object = lifecycle_object,
	.targets = ct_no_map,
	.events = lifecycle_events,
	.stacks = ct_no_map,
};

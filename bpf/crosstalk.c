// SPDX-License-Identifier: GPL-2.0
/* The session: opens every requested probe independently (one failing leaves the
 * others running), sets victim targets, attaches, reports per-probe status and
 * program statistics, closes. Window reads are in window.c, events in events.c, each
 * probe's loader in <probe>.c (the layering is in session.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "session.h"
#include "targets.h"

/* The first requested probe that is neither loaded nor active, as the session's error. */
static int first_probe_error(const struct ct_session *s, struct ct_error *e)
{
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		const struct ct_probe_status *st = &s->status[p];

		if (st->state == CT_STATE_UNSUPPORTED || st->state == CT_STATE_FAILED) {
			e->err = st->err;
			e->probe = p;
			snprintf(e->op, sizeof(e->op), "%s", st->op);
			snprintf(e->message, sizeof(e->message), "%s", st->message);
			return st->err;
		}
	}
	return ct_fail(e, -EINVAL, -1, "open", "no probe requested");
}

static bool any_in_state(const struct ct_session *s, int state)
{
	for (int p = 0; p < CT_PROBE_COUNT; p++)
		if (s->status[p].state == state)
			return true;
	return false;
}

int ct_open(const struct ct_options *o, struct ct_session **out, struct ct_error *e)
{
	__u32 probes = o->probes;
	bool kmod = (o->flags & CT_OPT_KMOD) != 0;
	struct ct_session *s;
	int err;

	ct_error_reset(e);
	if (probes & ~((1u << CT_PROBE_COUNT) - 1))
		return ct_fail(e, -EINVAL, -1, "open", "unknown probe bits 0x%x", probes);
	if (!kmod && o->btf_path && access(o->btf_path, R_OK) != 0)
		return ct_fail(e, -errno, -1, "open", "kernel BTF %s is not readable", o->btf_path);
	if (!kmod && !o->btf_path && access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return ct_fail(e, -errno, -1, "open",
			       "/sys/kernel/btf/vmlinux is missing: crosstalk needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	/* Dead cgroups' counters are retired on the lifecycle probe's rmdir events. */
	if (probes)
		probes |= 1u << CT_PROBE_LIFECYCLE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ct_fail(e, -ENOMEM, -1, "open", "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->kmod_fd = -1;
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		s->status[p].hierarchy_id = -1;
		s->probe[p].ops = ct_probe_ops_of(p, kmod);
	}
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = ct_fail(e, s->ncpus, -1, "open", "cannot count possible CPUs");
		goto fail;
	}
	if (kmod) {
		err = ct_kmod_open(s, e);
		if (err)
			goto fail;
	} else {
		s->vmlinux_btf = o->btf_path ? btf__parse(o->btf_path, NULL) : btf__load_vmlinux_btf();
		err = s->vmlinux_btf ? 0 : -errno;
	}
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		if (!(probes & (1u << p)))
			continue;
		ct_libbpf_message_reset();
		if (err)
			ct_probe_fail(s, p, CT_STATE_FAILED, err, "load", "cannot load the %s probe: kernel BTF %s cannot be parsed",
				      ct_probe_name(p), o->btf_path ? o->btf_path : "/sys/kernel/btf/vmlinux");
		else if (s->probe[p].ops->load(s, o) == 0)
			s->status[p].state = CT_STATE_LOADED;
	}
	btf__free(s->vmlinux_btf);
	s->vmlinux_btf = NULL;
	if (!any_in_state(s, CT_STATE_LOADED)) {
		err = first_probe_error(s, e);
		goto fail;
	}
	ct_libbpf_message_reset();
	ct_events_setup(s);
	*out = s;
	return 0;
fail:
	ct_close(s);
	return err;
}

/* Makes the map's keys exactly the wanted ids. */
static int sync_targets(struct bpf_map *map, const __u64 *want, size_t n)
{
	int fd = bpf_map__fd(map);
	__u64 key, next, *stale = NULL;
	size_t nstale = 0, cap = 0;
	const uint8_t one = 1;
	int err = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = want[i] == next;
		if (!keep) {
			if (nstale == cap) {
				__u64 *grown = realloc(stale, (cap = cap ? cap * 2 : 16) * sizeof(*stale));

				if (!grown) {
					free(stale);
					return -ENOMEM;
				}
				stale = grown;
			}
			stale[nstale++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(fd, &stale[i]);
	free(stale);
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &want[i], &one, BPF_ANY))
			err = -errno;
	return err;
}

/* Keeps the kernel's victim bitmap (targets.h) in step with the targets map: called with
 * widen=true before the map changes (old and new ids must both pass) and with
 * widen=false after (exactly the new ids). */
static void set_target_bits(volatile __u64 *live, const __u64 *ids, size_t count, bool widen)
{
	__u64 bits[CT_TARGET_BITS / 64] = { 0 };

	for (size_t i = 0; i < count; i++) {
		__u32 bit = ct_target_bit(ids[i]);

		bits[bit / 64] |= 1ULL << (bit % 64);
	}
	for (size_t w = 0; w < CT_TARGET_BITS / 64; w++)
		live[w] = widen ? live[w] | bits[w] : bits[w];
}

int ct_set_targets(struct ct_session *s, const struct ct_target *targets, size_t count, struct ct_error *e)
{
	__u64 *ids;
	int err = 0;

	ct_error_reset(e);
	ids = calloc(count ? count : 1, sizeof(*ids));
	if (!ids)
		return ct_fail(e, -ENOMEM, -1, "targets", "out of memory");
	for (int p = 0; p < CT_PROBE_COUNT && !err; p++) {
		struct bpf_map *map;
		size_t n = 0;

		if (s->status[p].state != CT_STATE_LOADED && s->status[p].state != CT_STATE_ACTIVE)
			continue;
		map = s->probe[p].targets;
		if (!map && !s->probe[p].ops->set_targets)
			continue;
		for (size_t i = 0; i < count; i++)
			if (targets[i].hierarchy_id == s->status[p].hierarchy_id)
				ids[n++] = targets[i].cgroup_id;
		if (n > CT_MAX_TARGETS) {
			err = ct_fail(e, -E2BIG, p, "targets", "%zu victim cgroups for the %s probe: at most %d", n,
				      ct_probe_name(p), CT_MAX_TARGETS);
			break;
		}
		if (s->probe[p].ops->set_targets) {
			err = s->probe[p].ops->set_targets(s, ids, n);
			if (err)
				ct_fail(e, err, p, "targets", "cannot set the %s probe's victim set", ct_probe_name(p));
			continue;
		}
		set_target_bits(s->probe[p].target_bits, ids, n, true);
		err = sync_targets(map, ids, n);
		if (err)
			ct_fail(e, err, p, "targets", "cannot update the %s probe's victim set", ct_probe_name(p));
		else
			set_target_bits(s->probe[p].target_bits, ids, n, false);
	}
	free(ids);
	return err;
}

int ct_attach(struct ct_session *s, struct ct_error *e)
{
	bool active;

	ct_error_reset(e);
	pthread_mutex_lock(&s->lock);
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		if (s->status[p].state != CT_STATE_LOADED)
			continue;
		ct_libbpf_message_reset();
		if (s->probe[p].ops->attach(s) == 0)
			s->status[p].state = CT_STATE_ACTIVE;
	}
	active = any_in_state(s, CT_STATE_ACTIVE);
	pthread_mutex_unlock(&s->lock);
	return active ? 0 : first_probe_error(s, e);
}

int ct_status(const struct ct_session *s, int probe, struct ct_probe_status *out)
{
	if (probe < 0 || probe >= CT_PROBE_COUNT)
		return -EINVAL;
	*out = s->status[probe];
	return 0;
}

int ct_program_stats(const struct ct_session *s, struct ct_prog_stats *out, size_t max)
{
	int n = 0;

	if (s->kmod_fd >= 0)
		return ct_kmod_program_stats(s, out, max);
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		struct bpf_object *obj;
		struct bpf_program *prog;

		if (s->status[p].state != CT_STATE_LOADED && s->status[p].state != CT_STATE_ACTIVE)
			continue;
		obj = s->probe[p].obj;
		bpf_object__for_each_program(prog, obj) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);
			int fd = bpf_program__fd(prog);

			if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
				continue;
			if ((size_t)n < max) {
				struct ct_prog_stats *o = &out[n];

				memset(o, 0, sizeof(*o));
				snprintf(o->name, sizeof(o->name), "%s", bpf_program__name(prog));
				o->probe = p;
				o->run_time_ns = info.run_time_ns;
				o->run_count = info.run_cnt;
				o->recursion_misses = info.recursion_misses;
			}
			n++;
		}
	}
	return n;
}

void ct_close(struct ct_session *s)
{
	if (!s)
		return;
	ct_events_free(s);
	for (int p = 0; p < CT_PROBE_COUNT; p++)
		s->probe[p].ops->destroy(s);
	ct_dead_free(&s->dead);
	if (s->kmod_fd >= 0)
		close(s->kmod_fd);
	free(s->kmod_buf);
	free(s->forget);
	btf__free(s->vmlinux_btf);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

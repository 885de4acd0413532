// SPDX-License-Identifier: GPL-2.0
/* The session: opens every requested probe independently (one failing leaves the
 * others running), sets victim targets, attaches, reports per-probe status and
 * program statistics, closes. Window reads are in window.c, events in events.c, each
 * probe's loader in <probe>.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "session.h"

static const char *const probe_names[CT_PROBE_COUNT] = {
	[CT_PROBE_CPU] = "cpu",
	[CT_PROBE_IO] = "io",
	[CT_PROBE_MEMORY] = "memory",
	[CT_PROBE_CACHE] = "cache",
	[CT_PROBE_LIFECYCLE] = "lifecycle",
};

static const struct ct_probe_ops *const probe_ops[CT_PROBE_COUNT] = {
	[CT_PROBE_CPU] = &ct_cpu_ops,
	[CT_PROBE_IO] = &ct_io_ops,
	[CT_PROBE_MEMORY] = &ct_memory_ops,
	[CT_PROBE_CACHE] = &ct_cache_ops,
	[CT_PROBE_LIFECYCLE] = &ct_lifecycle_ops,
};

const struct ct_probe_ops *ct_ops(int probe)
{
	return probe_ops[probe];
}

struct bpf_map *ct_no_map(const struct ct_session *s)
{
	(void)s;
	return NULL;
}

const char *ct_probe_name(int probe)
{
	return probe >= 0 && probe < CT_PROBE_COUNT ? probe_names[probe] : "crosstalk";
}

/* libbpf explains most failures only through its print callback: keep its first
 * warning since the current operation began (the cause; later ones are consequences)
 * so the error we return says why, and stay quiet otherwise. */
static __thread char libbpf_first[256];

static int keep_libbpf_message(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (getenv("CROSSTALK_BPF_DEBUG")) {
		va_list copy;

		va_copy(copy, args);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (!libbpf_first[0]) {
		vsnprintf(libbpf_first, sizeof(libbpf_first), fmt, args);
		libbpf_first[strcspn(libbpf_first, "\n")] = '\0';
	}
	return 0;
}

void ct_libbpf_message_reset(void)
{
	libbpf_first[0] = '\0';
	libbpf_set_print(keep_libbpf_message);
}

static int vformat(char *buf, size_t size, const char *fmt, va_list args)
{
	int n = vsnprintf(buf, size, fmt, args);

	if (n >= 0 && (size_t)n + 4 < size && libbpf_first[0])
		snprintf(buf + n, size - n, " (%.*s)", (int)(size - n - 4), libbpf_first);
	return n;
}

static int negative_errno(int err)
{
	if (err > 0)
		err = -err;
	return err ? err : -EINVAL;
}

int ct_fail(struct ct_error *e, int err, int probe, const char *op, const char *fmt, ...)
{
	va_list args;

	err = negative_errno(err);
	e->err = err;
	e->probe = probe;
	snprintf(e->op, sizeof(e->op), "%s", op);
	va_start(args, fmt);
	vformat(e->message, sizeof(e->message), fmt, args);
	va_end(args);
	return err;
}

int ct_probe_fail(struct ct_session *s, int probe, int state, int err, const char *op, const char *fmt, ...)
{
	struct ct_probe_status *st = &s->status[probe];
	va_list args;

	err = negative_errno(err);
	st->state = state;
	st->err = err;
	snprintf(st->op, sizeof(st->op), "%s", op);
	va_start(args, fmt);
	vformat(st->message, sizeof(st->message), fmt, args);
	va_end(args);
	return err;
}

/* Explains the errno a failed load most often means, so users know what to grant. */
static const char *load_hint(int err)
{
	switch (-err) {
	case EPERM:
		return "loading eBPF needs root or CAP_BPF + CAP_PERFMON";
	case EACCES:
		return "the verifier rejected the program";
	case ENOENT:
	case ESRCH:
		return "kernel BTF is missing or does not match (needs CONFIG_DEBUG_INFO_BTF=y)";
	case EINVAL:
		return "the kernel rejected the program";
	default:
		return -err >= __LIBBPF_ERRNO__START ? "libbpf rejected the object" : strerror(-err);
	}
}

int ct_load_failed(struct ct_session *s, int probe, int err)
{
	return ct_probe_fail(s, probe, CT_STATE_FAILED, err, "load", "cannot load the %s probe: %s",
			     ct_probe_name(probe), load_hint(negative_errno(err)));
}

/* The FUNC_PROTO behind btf_trace_<tracepoint>, or NULL when the kernel lacks it. */
static const struct btf_type *tracepoint_proto(const struct ct_session *s, const char *tracepoint, int *type_id)
{
	char name[128];
	const struct btf_type *t;
	int id;

	if (!s->vmlinux_btf)
		return NULL;
	snprintf(name, sizeof(name), "btf_trace_%s", tracepoint);
	id = btf__find_by_name_kind(s->vmlinux_btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return NULL;
	if (type_id)
		*type_id = id;
	t = btf__type_by_id(s->vmlinux_btf, id);
	t = t ? btf__type_by_id(s->vmlinux_btf, t->type) : NULL; /* typedef -> pointer */
	t = t && btf_is_ptr(t) ? btf__type_by_id(s->vmlinux_btf, t->type) : NULL;
	return t && btf_is_func_proto(t) ? t : NULL;
}

bool ct_tracepoint_exists(const struct ct_session *s, const char *tracepoint)
{
	return tracepoint_proto(s, tracepoint, NULL) != NULL;
}

int ct_tracepoint_arity(const struct ct_session *s, const char *tracepoint)
{
	const struct btf_type *proto = tracepoint_proto(s, tracepoint, NULL);

	return proto ? btf_vlen(proto) - 1 : -1;
}

/* Whether this kernel can attach a BTF-typed (tp_btf) program to the tracepoint: a
 * two-instruction program is loaded against it, as libbpf-tools does. */
static bool tp_btf_supported(const struct ct_session *s, const char *tracepoint)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	int type_id = 0, fd;

	if (!tracepoint_proto(s, tracepoint, &type_id))
		return false;
	opts.attach_btf_id = type_id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int ct_choose_attach_mode(struct ct_session *s, int probe, struct bpf_object *obj, const char *tracepoint,
			  const struct ct_options *o)
{
	bool use_btf = !(o->flags & CT_OPT_FORCE_RAW_TP) && tp_btf_supported(s, tracepoint);
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);

		if (has_suffix(name, "_btf"))
			bpf_program__set_autoload(prog, use_btf);
		else if (has_suffix(name, "_raw"))
			bpf_program__set_autoload(prog, !use_btf);
	}
	s->status[probe].attach_mode = use_btf ? CT_ATTACH_TP_BTF : CT_ATTACH_RAW_TP;
	return use_btf;
}

static void reset_error(struct ct_error *e)
{
	memset(e, 0, sizeof(*e));
	e->probe = -1;
	ct_libbpf_message_reset();
}

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
	struct ct_session *s;
	int err;

	reset_error(e);
	if (probes & ~((1u << CT_PROBE_COUNT) - 1))
		return ct_fail(e, -EINVAL, -1, "open", "unknown probe bits 0x%x", probes);
	if (o->btf_path && access(o->btf_path, R_OK) != 0)
		return ct_fail(e, -errno, -1, "open", "kernel BTF %s is not readable", o->btf_path);
	if (!o->btf_path && access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return ct_fail(e, -errno, -1, "open",
			       "/sys/kernel/btf/vmlinux is missing: crosstalk needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	/* Dead cgroups' counters are retired on the lifecycle probe's rmdir events. */
	if (probes)
		probes |= 1u << CT_PROBE_LIFECYCLE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ct_fail(e, -ENOMEM, -1, "open", "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	for (int p = 0; p < CT_PROBE_COUNT; p++)
		s->status[p].hierarchy_id = -1;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = ct_fail(e, s->ncpus, -1, "open", "cannot count possible CPUs");
		goto fail;
	}
	s->vmlinux_btf = o->btf_path ? btf__parse(o->btf_path, NULL) : btf__load_vmlinux_btf();
	err = s->vmlinux_btf ? 0 : -errno;
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		if (!(probes & (1u << p)))
			continue;
		ct_libbpf_message_reset();
		if (err)
			ct_probe_fail(s, p, CT_STATE_FAILED, err, "load", "cannot load the %s probe: kernel BTF %s cannot be parsed",
				      ct_probe_name(p), o->btf_path ? o->btf_path : "/sys/kernel/btf/vmlinux");
		else if (ct_ops(p)->load(s, o) == 0)
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

int ct_set_targets(struct ct_session *s, const struct ct_target *targets, size_t count, struct ct_error *e)
{
	__u64 *ids;
	int err = 0;

	reset_error(e);
	ids = calloc(count ? count : 1, sizeof(*ids));
	if (!ids)
		return ct_fail(e, -ENOMEM, -1, "targets", "out of memory");
	for (int p = 0; p < CT_PROBE_COUNT && !err; p++) {
		struct bpf_map *map;
		size_t n = 0;

		if (s->status[p].state != CT_STATE_LOADED && s->status[p].state != CT_STATE_ACTIVE)
			continue;
		map = ct_ops(p)->targets(s);
		if (!map)
			continue;
		for (size_t i = 0; i < count; i++)
			if (targets[i].hierarchy_id == s->status[p].hierarchy_id)
				ids[n++] = targets[i].cgroup_id;
		if (n > CT_MAX_TARGETS) {
			err = ct_fail(e, -E2BIG, p, "targets", "%zu victim cgroups for the %s probe: at most %d", n,
				      ct_probe_name(p), CT_MAX_TARGETS);
			break;
		}
		if (ct_ops(p)->target_hint)
			ct_ops(p)->target_hint(s, ids, n, true);
		err = sync_targets(map, ids, n);
		if (err)
			ct_fail(e, err, p, "targets", "cannot update the %s probe's victim set", ct_probe_name(p));
		else if (ct_ops(p)->target_hint)
			ct_ops(p)->target_hint(s, ids, n, false);
	}
	free(ids);
	return err;
}

int ct_attach(struct ct_session *s, struct ct_error *e)
{
	bool active;

	reset_error(e);
	pthread_mutex_lock(&s->lock);
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		if (s->status[p].state != CT_STATE_LOADED)
			continue;
		ct_libbpf_message_reset();
		if (ct_ops(p)->attach(s) == 0)
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

	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		struct bpf_object *obj;
		struct bpf_program *prog;

		if (s->status[p].state != CT_STATE_LOADED && s->status[p].state != CT_STATE_ACTIVE)
			continue;
		obj = ct_ops(p)->object(s);
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
		ct_ops(p)->destroy(s);
	ct_dead_free(&s->dead);
	btf__free(s->vmlinux_btf);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

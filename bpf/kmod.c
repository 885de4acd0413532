// SPDX-License-Identifier: GPL-2.0
/* The kernel-module backend (kmod/): the same probes' ops as the eBPF loaders, on
 * /dev/crosstalk. The module keeps per-CPU records; a window read sums them per key
 * into the same sections the eBPF probes write, flags dead cgroups the same way, and
 * has the module forget them once the window is written. Its read() stream carries
 * the lifecycle, slow-wait and slow-reclaim events, pumped into the probes' queues
 * (events.c). The module serves cpu, memory and lifecycle; io and cache are unsupported. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "session.h"
#include "crosstalk-kmod.h"

#define CTK_PATH "/dev/" CTK_DEVICE_NAME

#define CTK_HEAD(type) { .size = sizeof(type), .version = CTK_ABI_VERSION }

static int ctk_ioctl(const struct ct_session *s, unsigned long cmd, void *arg)
{
	return ioctl(s->kmod_fd, cmd, arg) ? -errno : 0;
}

int ct_kmod_open(struct ct_session *s, struct ct_error *e)
{
	struct ctk_info info = { .head = CTK_HEAD(struct ctk_info) };
	int err;

	s->kmod_fd = open(CTK_PATH, O_RDWR | O_CLOEXEC);
	if (s->kmod_fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			return ct_fail(e, err, -1, "open", "%s is missing: the crosstalk kernel module is not loaded", CTK_PATH);
		if (err == -EBUSY)
			return ct_fail(e, err, -1, "open", "%s is in use by another session", CTK_PATH);
		return ct_fail(e, err, -1, "open", "cannot open %s", CTK_PATH);
	}
	err = ctk_ioctl(s, CTK_IOC_INFO, &info);
	if (err)
		return ct_fail(e, err, -1, "open", "%s does not speak ABI version %d (a module of another build?)",
			       CTK_PATH, CTK_ABI_VERSION);
	s->kmod_probes = info.probes;
	s->kmod_memcg = info.memcg != 0;
	return 0;
}

/* The module's kernel-side failure counters, per probe, for the health section. */
static int refresh_health(struct ct_session *s)
{
	struct ctk_stats st = { .head = CTK_HEAD(struct ctk_stats) };
	int err = ctk_ioctl(s, CTK_IOC_STATS, &st);

	if (err)
		return err;
	s->kmod_health[CT_PROBE_CPU] = st.cpu;
	s->kmod_health[CT_PROBE_LIFECYCLE] = st.lifecycle;
	s->kmod_health[CT_PROBE_MEMORY] = st.memory;
	return 0;
}

static int kmod_load(struct ct_session *s, int probe, __u32 bit, const char *hooks)
{
	if (!(s->kmod_probes & bit))
		return ct_probe_fail(s, probe, CT_STATE_UNSUPPORTED, -ENOENT, "load",
				     "the kernel module found no %s tracepoints", hooks);
	s->status[probe].hierarchy_id = CT_UNIFIED_HIERARCHY;
	s->status[probe].attach_mode = CT_ATTACH_KMOD;
	s->probe[probe].health = &s->kmod_health[probe];
	return 0;
}

static int cpu_load(struct ct_session *s, const struct ct_options *o)
{
	s->kmod_all_cgroups = (o->flags & CT_OPT_ALL_CGROUPS) != 0;
	s->kmod_runq_events = (o->flags & CT_OPT_RUNQ_EVENTS) != 0;
	s->kmod_runq_slow_ns = o->runq_slow_ns;
	s->probe[CT_PROBE_CPU].event_kind = CT_SECTION_RUNQ_EVENTS;
	s->probe[CT_PROBE_CPU].sample_size = s->probe[CT_PROBE_CPU].record_size = sizeof(struct ct_runq_event);
	return kmod_load(s, CT_PROBE_CPU, CTK_PROBE_CPU, "sched_switch/sched_wakeup");
}

static int memory_load(struct ct_session *s, const struct ct_options *o)
{
	struct ct_probe_info *p = &s->probe[CT_PROBE_MEMORY];
	int err;

	s->kmod_all_cgroups = (o->flags & CT_OPT_ALL_CGROUPS) != 0;
	s->kmod_reclaim_slow_ns = o->reclaim_slow_ns;
	p->event_kind = CT_SECTION_RECLAIM_EVENTS;
	p->sample_size = sizeof(struct ct_reclaim_event);
	p->record_size = sizeof(struct ct_reclaim_event_record); /* no stacks: nframes 0 */
	err = kmod_load(s, CT_PROBE_MEMORY, CTK_PROBE_MEMORY, "mm_vmscan_direct_reclaim");
	if (!err && !s->kmod_memcg)
		snprintf(s->status[CT_PROBE_MEMORY].message, sizeof(s->status[CT_PROBE_MEMORY].message),
			 "the kernel has no memcg reclaim tracepoints (CONFIG_MEMCG off): direct reclaim only");
	return err;
}

static int lifecycle_load(struct ct_session *s, const struct ct_options *o)
{
	(void)o;
	s->probe[CT_PROBE_LIFECYCLE].event_kind = CT_SECTION_CGROUP_EVENTS;
	s->probe[CT_PROBE_LIFECYCLE].sample_size = s->probe[CT_PROBE_LIFECYCLE].record_size =
		sizeof(struct ct_cgroup_event);
	return kmod_load(s, CT_PROBE_LIFECYCLE, CTK_PROBE_LIFECYCLE, "cgroup_mkdir/cgroup_rmdir");
}

static int enable(struct ct_session *s, int probe, __u32 bit, __u32 flags)
{
	struct ctk_enable en = {
		.head = CTK_HEAD(struct ctk_enable),
		.probes = bit,
		.flags = flags,
		.runq_slow_ns = s->kmod_runq_slow_ns,
		.reclaim_slow_ns = s->kmod_reclaim_slow_ns,
	};
	int err = ctk_ioctl(s, CTK_IOC_ENABLE, &en);

	return err ? ct_probe_fail(s, probe, CT_STATE_FAILED, err, "attach", "the kernel module cannot register the %s probe's tracepoints",
				   ct_probe_name(probe))
		   : 0;
}

static int cpu_attach(struct ct_session *s)
{
	return enable(s, CT_PROBE_CPU, CTK_PROBE_CPU, s->kmod_runq_events ? CTK_ENABLE_RUNQ_EVENTS : 0);
}

static int memory_attach(struct ct_session *s)
{
	return enable(s, CT_PROBE_MEMORY, CTK_PROBE_MEMORY, 0);
}

static int lifecycle_attach(struct ct_session *s)
{
	return enable(s, CT_PROBE_LIFECYCLE, CTK_PROBE_LIFECYCLE, 0);
}

/* The module keeps one victim set (unified ids) for its cpu and memory probes. */
static int set_targets(struct ct_session *s, const __u64 *ids, size_t count)
{
	struct ctk_targets t = {
		.head = CTK_HEAD(struct ctk_targets),
		.count = count,
		.flags = s->kmod_all_cgroups ? CTK_TARGETS_ALL : 0,
		.ids = (__u64)(uintptr_t)ids,
	};

	return ctk_ioctl(s, CTK_IOC_TARGETS, &t);
}

/* One table's per-CPU records into s->kmod_buf, grown until they fit; returns the
 * count or a negative errno. */
static ssize_t read_table(struct ct_session *s, __u32 table, size_t record_size, __u64 at_ns)
{
	for (;;) {
		struct ctk_read r = {
			.head = CTK_HEAD(struct ctk_read),
			.table = table,
			.buf = (__u64)(uintptr_t)s->kmod_buf,
			.len = s->kmod_buf_len,
			.at_ns = at_ns,
		};
		int err = ctk_ioctl(s, CTK_IOC_READ, &r);
		size_t want;
		void *grown;

		if (!err)
			return r.count;
		if (err != -ENOSPC)
			return err;
		want = (r.needed + 64) * record_size; /* some room for records added meanwhile */
		grown = realloc(s->kmod_buf, want);
		if (!grown)
			return -ENOMEM;
		s->kmod_buf = grown;
		s->kmod_buf_len = want;
	}
}

/* Records sorted by their leading key (one or two __u64), so that each key's CPUs are
 * adjacent. */
static int compare_key1(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int compare_key2(const void *a, const void *b)
{
	const __u64 *x = a, *y = b;

	return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

static int note_forget(struct ct_session *s, __u64 id)
{
	if (s->nforget == s->forget_cap) {
		size_t cap = s->forget_cap ? s->forget_cap * 2 : 64;
		__u64 *grown = realloc(s->forget, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->forget = grown;
		s->forget_cap = cap;
	}
	s->forget[s->nforget++] = id;
	return 0;
}

/* Whether the cgroup is dead; a dead one is forgotten once the window is written. */
static int dead(struct ct_session *s, struct ct_writer *w, __u64 id, bool *is_dead)
{
	*is_dead = ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, id);
	return *is_dead ? note_forget(s, id) : 0;
}

static void add_u64s(__u64 *to, const __u64 *from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		to[i] += from[i];
}

static int put_cgroups(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_CPU_CGROUPS, sizeof(struct ct_cpu_cgroup_record));
	ssize_t n = h ? read_table(s, CTK_TABLE_CGROUPS, sizeof(struct ctk_cgroup_record), w->time_ns) : -ENOSPC;
	const struct ctk_cgroup_record *in = s->kmod_buf;
	struct ct_cpu_cgroup_record *r = NULL;
	int err = 0;

	if (n < 0)
		return n;
	qsort(s->kmod_buf, n, sizeof(*in), compare_key1);
	for (ssize_t i = 0; i < n && !err; i++) {
		bool is_dead;

		if (!r || r->cgroup_id != in[i].id) {
			if (!(r = ct_record_add(w, h)))
				return -ENOSPC;
			r->cgroup_id = in[i].id;
			err = dead(s, w, in[i].id, &is_dead);
			r->flags = is_dead ? CT_RECORD_DEAD : 0;
		}
		add_u64s((__u64 *)&r->v, (const __u64 *)&in[i].v, sizeof(r->v) / sizeof(__u64));
	}
	return err;
}

static int put_victims(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_RUNQ_VICTIMS, sizeof(struct ct_runq_victim_record));
	ssize_t n = h ? read_table(s, CTK_TABLE_VICTIMS, sizeof(struct ctk_victim_record), 0) : -ENOSPC;
	const struct ctk_victim_record *in = s->kmod_buf;
	struct ct_runq_victim_record *r = NULL;
	int err = 0;

	if (n < 0)
		return n;
	qsort(s->kmod_buf, n, sizeof(*in), compare_key1);
	for (ssize_t i = 0; i < n && !err; i++) {
		bool is_dead;

		if (!r || r->cgroup_id != in[i].id) {
			if (!(r = ct_record_add(w, h)))
				return -ENOSPC;
			r->cgroup_id = in[i].id;
			err = dead(s, w, in[i].id, &is_dead);
			r->flags = is_dead ? CT_RECORD_DEAD : 0;
		}
		add_u64s((__u64 *)&r->v, (const __u64 *)&in[i].v, sizeof(r->v) / sizeof(__u64));
	}
	return err;
}

static int put_pairs(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_WAIT_PAIRS, sizeof(struct ct_wait_pair_record));
	ssize_t n = h ? read_table(s, CTK_TABLE_PAIRS, sizeof(struct ctk_pair_record), 0) : -ENOSPC;
	const struct ctk_pair_record *in = s->kmod_buf;
	struct ct_wait_pair_record *r = NULL;
	int err = 0;

	if (n < 0)
		return n;
	qsort(s->kmod_buf, n, sizeof(*in), compare_key2);
	for (ssize_t i = 0; i < n && !err; i++) {
		bool victim_dead, aggressor_dead;

		if (!r || r->victim != in[i].key.victim || r->aggressor != in[i].key.aggressor) {
			if (!(r = ct_record_add(w, h)))
				return -ENOSPC;
			r->victim = in[i].key.victim;
			r->aggressor = in[i].key.aggressor;
			err = dead(s, w, r->victim, &victim_dead);
			if (!err)
				err = dead(s, w, r->aggressor, &aggressor_dead);
			r->flags = victim_dead || aggressor_dead ? CT_RECORD_DEAD : 0;
		}
		r->wait_ns += in[i].wait_ns;
	}
	return err;
}

static int put_reclaim(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_RECLAIM, sizeof(struct ct_reclaim_record));
	ssize_t n = h ? read_table(s, CTK_TABLE_RECLAIM, sizeof(struct ctk_reclaim_record), 0) : -ENOSPC;
	const struct ctk_reclaim_record *in = s->kmod_buf;
	struct ct_reclaim_record *r = NULL;
	int err = 0;

	if (n < 0)
		return n;
	qsort(s->kmod_buf, n, sizeof(*in), compare_key1);
	for (ssize_t i = 0; i < n && !err; i++) {
		bool is_dead;

		if (!r || r->cgroup_id != in[i].id) {
			if (!(r = ct_record_add(w, h)))
				return -ENOSPC;
			r->cgroup_id = in[i].id;
			err = dead(s, w, in[i].id, &is_dead);
			r->flags = is_dead ? CT_RECORD_DEAD : 0;
		}
		add_u64s((__u64 *)&r->v, (const __u64 *)&in[i].v, sizeof(r->v) / sizeof(__u64));
	}
	return err;
}

static int memory_read(struct ct_session *s, struct ct_writer *w)
{
	int err = refresh_health(s);

	return err ?: put_reclaim(s, w);
}

static int cpu_read(struct ct_session *s, struct ct_writer *w)
{
	int err = refresh_health(s);

	err = err ?: put_cgroups(s, w);
	err = err ?: put_victims(s, w);
	return err ?: put_pairs(s, w);
}

/* The window is written: the dead cgroups it reported (any probe's) are forgotten by the
 * module; the first probe done sends them all. */
static void read_done(struct ct_session *s, bool applied)
{
	struct ctk_forget f = {
		.head = CTK_HEAD(struct ctk_forget),
		.count = s->nforget,
		.ids = (__u64)(uintptr_t)s->forget,
	};

	if (applied && s->nforget)
		ctk_ioctl(s, CTK_IOC_FORGET, &f);
	s->nforget = 0;
}

/* Moves the module's pending events into the probes' queues. */
static int lifecycle_pump(struct ct_session *s)
{
	struct ctk_event events[32];
	ssize_t n;

	while ((n = read(s->kmod_fd, events, sizeof(events))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(events[0]); i++) {
			const struct ctk_event *ev = &events[i];

			if (ev->kind == CTK_EVENT_CGROUP)
				ct_event_push(s, CT_PROBE_LIFECYCLE, &ev->cgroup);
			else if (ev->kind == CTK_EVENT_RUNQ && s->status[CT_PROBE_CPU].state == CT_STATE_ACTIVE)
				ct_event_push(s, CT_PROBE_CPU, &ev->runq);
			else if (ev->kind == CTK_EVENT_RECLAIM && s->status[CT_PROBE_MEMORY].state == CT_STATE_ACTIVE)
				ct_event_push(s, CT_PROBE_MEMORY, &ev->reclaim);
		}
		if ((size_t)n < sizeof(events))
			break;
	}
	return n < 0 ? -errno : 0;
}

static void nothing(struct ct_session *s)
{
	(void)s;
}

static int no_attach(struct ct_session *s)
{
	(void)s;
	return -EOPNOTSUPP;
}

const struct ct_probe_ops ct_kmod_cpu_ops = {
	.name = "cpu",
	.load = cpu_load,
	.attach = cpu_attach,
	.read = cpu_read,
	.read_done = read_done,
	.set_targets = set_targets,
	.destroy = nothing,
};

const struct ct_probe_ops ct_kmod_memory_ops = {
	.name = "memory",
	.load = memory_load,
	.attach = memory_attach,
	.read = memory_read,
	.read_done = read_done,
	.set_targets = set_targets,
	.destroy = nothing,
};

const struct ct_probe_ops ct_kmod_lifecycle_ops = {
	.name = "lifecycle",
	.load = lifecycle_load,
	.attach = lifecycle_attach,
	.pump = lifecycle_pump,
	.destroy = nothing,
	.on_event = ct_lifecycle_on_event,
};

/* Probes the module does not implement: unsupported, with the reason, on every kernel. */
#define CT_KMOD_UNSUPPORTED(probe, id)                                                               \
	static int probe##_unsupported(struct ct_session *s, const struct ct_options *o)             \
	{                                                                                            \
		(void)o;                                                                             \
		return ct_probe_fail(s, id, CT_STATE_UNSUPPORTED, -EOPNOTSUPP, "load",               \
				     "the kernel module backend has no " #probe " probe (eBPF only)"); \
	}                                                                                            \
	const struct ct_probe_ops ct_kmod_##probe##_ops = {                                          \
		.name = #probe, .load = probe##_unsupported, .attach = no_attach, .destroy = nothing,  \
	}

CT_KMOD_UNSUPPORTED(io, CT_PROBE_IO);
CT_KMOD_UNSUPPORTED(cache, CT_PROBE_CACHE);

int ct_kmod_program_stats(const struct ct_session *s, struct ct_prog_stats *out, size_t max)
{
	static const struct {
		const char *name;
		int probe;
	} hooks[CTK_HOOKS] = {
		[CTK_HOOK_SWITCH] = { "kmod_sched_switch", CT_PROBE_CPU },
		[CTK_HOOK_WAKEUP] = { "kmod_sched_wakeup", CT_PROBE_CPU },
		[CTK_HOOK_CGROUP] = { "kmod_cgroup", CT_PROBE_LIFECYCLE },
		[CTK_HOOK_RECLAIM] = { "kmod_vmscan", CT_PROBE_MEMORY },
	};
	struct ctk_stats st = { .head = CTK_HEAD(struct ctk_stats) };
	int n = 0;

	if (ctk_ioctl(s, CTK_IOC_STATS, &st))
		return 0;
	for (int h = 0; h < CTK_HOOKS; h++) {
		int state = s->status[hooks[h].probe].state;

		if (state != CT_STATE_LOADED && state != CT_STATE_ACTIVE)
			continue;
		if ((size_t)n < max) {
			struct ct_prog_stats *o = &out[n];

			memset(o, 0, sizeof(*o));
			snprintf(o->name, sizeof(o->name), "%s", hooks[h].name);
			o->probe = hooks[h].probe;
			o->run_time_ns = st.run_ns[h];
			o->run_count = st.run_count[h];
		}
		n++;
	}
	return n;
}

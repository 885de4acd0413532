// SPDX-License-Identifier: GPL-2.0
/* The kernel-module backend (kmod/): the same probes' ops as the eBPF loaders, on
 * /dev/crosstalk. The module keeps per-CPU records; a window read sums them per key
 * into the same sections the eBPF probes write, flags dead cgroups the same way, and
 * has the module forget them once the window is written. Its read() stream carries
 * the lifecycle, slow-wait, slow-reclaim and slow-IO events, pumped into the probes'
 * queues (events.c). The module serves cpu, io, memory and lifecycle; cache is
 * unsupported. */
#include <errno.h>
#include <stddef.h>
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
	s->kmod_health[CT_PROBE_IO] = st.io;
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

/* Owners are blkcg ids: the module's one victim set holds unified ids, so it serves io
 * only where blkio is not a v1 hierarchy of its own. */
static int io_load(struct ct_session *s, const struct ct_options *o)
{
	struct ct_probe_info *p = &s->probe[CT_PROBE_IO];

	if (ct_blkio_hierarchy() != CT_UNIFIED_HIERARCHY)
		return ct_probe_fail(s, CT_PROBE_IO, CT_STATE_UNSUPPORTED, -EOPNOTSUPP, "load",
				     "the kernel module's io probe needs the io controller on cgroup v2 (blkio is a v1 hierarchy here)");
	s->kmod_all_cgroups = (o->flags & CT_OPT_ALL_CGROUPS) != 0;
	s->kmod_io_slow_ns = o->io_slow_ns;
	p->event_kind = CT_SECTION_IO_EVENTS;
	p->sample_size = sizeof(struct ct_io_event);
	p->record_size = sizeof(struct ct_io_event_record); /* no stacks: nframes 0 */
	return kmod_load(s, CT_PROBE_IO, CTK_PROBE_IO, "block_rq_insert/issue/complete");
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
		.io_slow_ns = s->kmod_io_slow_ns,
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

static int io_attach(struct ct_session *s)
{
	return enable(s, CT_PROBE_IO, CTK_PROBE_IO, 0);
}

static int lifecycle_attach(struct ct_session *s)
{
	return enable(s, CT_PROBE_LIFECYCLE, CTK_PROBE_LIFECYCLE, 0);
}

/* The module keeps one victim set (unified ids) for its cpu, io and memory probes. */
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

/* Records sorted by their leading keys (__u64 each), so that each key's CPUs are
 * adjacent. */
static int compare_keys(const __u64 *x, const __u64 *y, size_t nkey)
{
	for (size_t k = 0; k < nkey; k++)
		if (x[k] != y[k])
			return x[k] < y[k] ? -1 : 1;
	return 0;
}

static int compare_key1(const void *a, const void *b)
{
	return compare_keys(a, b, 1);
}

static int compare_key2(const void *a, const void *b)
{
	return compare_keys(a, b, 2);
}

static int compare_key3(const void *a, const void *b)
{
	return compare_keys(a, b, 3);
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

/* Flags the record dead when one of its cgroups is; a dead one is forgotten once the
 * window is written. */
static int mark_dead(struct ct_session *s, struct ct_writer *w, const __u64 *ids, size_t n, __u32 *flags)
{
	for (size_t i = 0; i < n; i++) {
		if (!ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, ids[i]))
			continue;
		*flags = CT_RECORD_DEAD;
		if (note_forget(s, ids[i]))
			return -ENOMEM;
	}
	return 0;
}

static void add_u64s(__u64 *to, const __u64 *from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		to[i] += from[i];
}

/* Fills a section record's key and flags from the keys of the module's records. */
typedef int (*key_fn)(struct ct_session *s, struct ct_writer *w, void *out, const __u64 *key, size_t nkey);

/* Keys that are cgroup ids, kept as they are. */
static int id_keys(struct ct_session *s, struct ct_writer *w, void *out, const __u64 *key, size_t nkey)
{
	memcpy(out, key, nkey * sizeof(*key));
	return mark_dead(s, w, key, nkey, (__u32 *)((__u64 *)out + nkey));
}

/* (io class, owner) -> struct ct_io_key. */
static int io_key(struct ct_session *s, struct ct_writer *w, void *out, const __u64 *key, size_t nkey)
{
	struct ct_io_key *k = out;

	(void)nkey;
	k->cgroup = key[1];
	k->dev = CTK_IO_CLASS_DEV(key[0]);
	k->op = CTK_IO_CLASS_OP(key[0]);
	k->sync = CTK_IO_CLASS_SYNC(key[0]);
	return mark_dead(s, w, key + 1, 1, (__u32 *)(k + 1));
}

/* (io class, victim, holder) -> struct ct_io_delay_key. */
static int io_delay_key(struct ct_session *s, struct ct_writer *w, void *out, const __u64 *key, size_t nkey)
{
	struct ct_io_delay_key *k = out;

	(void)nkey;
	k->victim = key[1];
	k->holder = key[2];
	k->dev = CTK_IO_CLASS_DEV(key[0]);
	return mark_dead(s, w, key + 1, 2, (__u32 *)(k + 1));
}

/* A module table and the section it becomes. The module's records are nkey __u64 keys,
 * the CPU, then __u64 values; the section's are as long, with the same values at the
 * same offset after their key and flags. */
struct summed {
	__u32 table, section;
	size_t nkey, record_size;
	key_fn key;
};

static const struct summed cgroups_table = { CTK_TABLE_CGROUPS, CT_SECTION_CPU_CGROUPS, 1,
					     sizeof(struct ct_cpu_cgroup_record), id_keys };
static const struct summed victims_table = { CTK_TABLE_VICTIMS, CT_SECTION_RUNQ_VICTIMS, 1,
					     sizeof(struct ct_runq_victim_record), id_keys };
static const struct summed pairs_table = { CTK_TABLE_PAIRS, CT_SECTION_WAIT_PAIRS, 2,
					   sizeof(struct ct_wait_pair_record), id_keys };
static const struct summed reclaim_table = { CTK_TABLE_RECLAIM, CT_SECTION_RECLAIM, 1,
					     sizeof(struct ct_reclaim_record), id_keys };
static const struct summed io_stats_table = { CTK_TABLE_IO_STATS, CT_SECTION_IO_STATS, 2,
					      sizeof(struct ct_io_stats_record), io_key };
static const struct summed io_latency_table = { CTK_TABLE_IO_LATENCY, CT_SECTION_IO_LATENCY, 2,
						sizeof(struct ct_io_latency_record), io_key };
static const struct summed io_delays_table = { CTK_TABLE_IO_DELAYS, CT_SECTION_IO_DELAYS, 3,
					       sizeof(struct ct_io_delay_record), io_delay_key };

#define SAME_SHAPE(section, module, value, nkey)                                                          \
	_Static_assert(sizeof(struct section) == sizeof(struct module) &&                                 \
			       offsetof(struct section, value) == ((nkey) + 1) * sizeof(__u64) &&       \
			       offsetof(struct module, value) == ((nkey) + 1) * sizeof(__u64),          \
		       #section " and " #module " differ")
SAME_SHAPE(ct_cpu_cgroup_record, ctk_cgroup_record, v, 1);
SAME_SHAPE(ct_runq_victim_record, ctk_victim_record, v, 1);
SAME_SHAPE(ct_wait_pair_record, ctk_pair_record, wait_ns, 2);
SAME_SHAPE(ct_reclaim_record, ctk_reclaim_record, v, 1);
SAME_SHAPE(ct_io_stats_record, ctk_io_stats_record, v, 2);
SAME_SHAPE(ct_io_latency_record, ctk_io_latency_record, v, 2);
SAME_SHAPE(ct_io_delay_record, ctk_io_delay_record, v, 3);

/* One table's per-CPU records summed per key into its section. */
static int put_summed(struct ct_session *s, struct ct_writer *w, const struct summed *t, __u64 at_ns)
{
	static int (*const compare[])(const void *, const void *) = { NULL, compare_key1, compare_key2, compare_key3 };
	struct ct_section_header *h = ct_section_begin(w, t->section, t->record_size);
	ssize_t n = h ? read_table(s, t->table, t->record_size, at_ns) : -ENOSPC;
	size_t values = (t->nkey + 1) * sizeof(__u64);
	const char *in = s->kmod_buf, *prev = NULL;
	char *r = NULL;
	int err = 0;

	if (n < 0)
		return n;
	qsort(s->kmod_buf, n, t->record_size, compare[t->nkey]);
	for (ssize_t i = 0; i < n && !err; i++, in += t->record_size) {
		if (!prev || compare[t->nkey](prev, in)) {
			if (!(r = ct_record_add(w, h)))
				return -ENOSPC;
			err = t->key(s, w, r, (const __u64 *)in, t->nkey);
			prev = in;
		}
		add_u64s((__u64 *)(r + values), (const __u64 *)(in + values), (t->record_size - values) / sizeof(__u64));
	}
	return err;
}

static int memory_read(struct ct_session *s, struct ct_writer *w)
{
	int err = refresh_health(s);

	return err ?: put_summed(s, w, &reclaim_table, 0);
}

static int cpu_read(struct ct_session *s, struct ct_writer *w)
{
	int err = refresh_health(s);

	err = err ?: put_summed(s, w, &cgroups_table, w->time_ns);
	err = err ?: put_summed(s, w, &victims_table, 0);
	return err ?: put_summed(s, w, &pairs_table, 0);
}

static int io_read(struct ct_session *s, struct ct_writer *w)
{
	int err = refresh_health(s);

	err = err ?: put_summed(s, w, &io_stats_table, 0);
	err = err ?: put_summed(s, w, &io_latency_table, 0);
	return err ?: put_summed(s, w, &io_delays_table, 0);
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
			else if (ev->kind == CTK_EVENT_IO && s->status[CT_PROBE_IO].state == CT_STATE_ACTIVE)
				ct_event_push(s, CT_PROBE_IO, &ev->io);
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

const struct ct_probe_ops ct_kmod_io_ops = {
	.name = "io",
	.load = io_load,
	.attach = io_attach,
	.read = io_read,
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

/* The cache probe needs hardware counters: unsupported, with the reason, on every kernel. */
static int cache_load(struct ct_session *s, const struct ct_options *o)
{
	(void)o;
	return ct_probe_fail(s, CT_PROBE_CACHE, CT_STATE_UNSUPPORTED, -EOPNOTSUPP, "load",
			     "the kernel module backend has no cache probe (eBPF only)");
}

const struct ct_probe_ops ct_kmod_cache_ops = {
	.name = "cache",
	.load = cache_load,
	.attach = no_attach,
	.destroy = nothing,
};

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
		[CTK_HOOK_IO] = { "kmod_block_rq", CT_PROBE_IO },
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

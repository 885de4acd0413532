// SPDX-License-Identifier: GPL-2.0
/* The cache probe's piece of the loader: opens four counting perf events on every CPU
 * and hands them to the BPF program through perf event arrays. Without a hardware PMU
 * (most VMs) perf_event_open fails and the probe is unsupported, with that errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include "session.h"
#include "cache.skel.h"

struct counter {
	__u32 type;
	__u64 config;
	const char *name;
};

/* In enum ct_cache_counter order. */
static const struct counter hardware[CT_CACHE_COUNTERS] = {
	{ PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, "LLC references" },
	{ PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, "LLC misses" },
	{ PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "cycles" },
	{ PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, "instructions" },
};

/* Tests only (CT_OPT_SOFTWARE_COUNTERS): software events with a known truth stand in,
 * so the whole path runs on machines without a PMU. */
static const struct counter software[CT_CACHE_COUNTERS] = {
	{ PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "page faults (as LLC references)" },
	{ PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, "major faults (as LLC misses)" },
	{ PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, "cpu-clock ns (as cycles)" },
	{ PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, "context switches (as instructions)" },
};

static int open_counter(const struct counter *c, int cpu)
{
	struct perf_event_attr attr = {
		.type = c->type,
		.size = sizeof(attr),
		.config = c->config,
	};
	int fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static bool means_unsupported(int err)
{
	return err == -ENOENT || err == -EOPNOTSUPP || err == -ENODEV;
}

/* Opens every counter on every online CPU (offline ones answer ENODEV and stay empty). */
static int open_counters(struct ct_session *s, const struct counter *set)
{
	s->nperf_fds = (size_t)s->ncpus * CT_CACHE_COUNTERS;
	s->perf_fds = malloc(s->nperf_fds * sizeof(int));
	if (!s->perf_fds)
		return ct_probe_fail(s, CT_PROBE_CACHE, CT_STATE_FAILED, -ENOMEM, "open", "out of memory");
	for (size_t i = 0; i < s->nperf_fds; i++)
		s->perf_fds[i] = -1;
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		for (int k = 0; k < CT_CACHE_COUNTERS; k++) {
			int fd = open_counter(&set[k], cpu);

			if (fd == -ENODEV && cpu > 0)
				break; /* offline CPU */
			if (fd < 0)
				return ct_probe_fail(s, CT_PROBE_CACHE,
						     means_unsupported(fd) ? CT_STATE_UNSUPPORTED : CT_STATE_FAILED, fd,
						     "open", "cannot count %s on CPU %d%s", set[k].name, cpu,
						     means_unsupported(fd) ? " (no hardware PMU?)" : "");
			s->perf_fds[(size_t)cpu * CT_CACHE_COUNTERS + k] = fd;
		}
	}
	return 0;
}

static struct bpf_map *counter_map(const struct ct_session *s, int k)
{
	struct bpf_map *maps[CT_CACHE_COUNTERS] = {
		[CT_CACHE_LLC_REFERENCES] = s->cache->maps.llc_references,
		[CT_CACHE_LLC_MISSES] = s->cache->maps.llc_misses,
		[CT_CACHE_CYCLES] = s->cache->maps.cycles,
		[CT_CACHE_INSTRUCTIONS] = s->cache->maps.instructions,
	};

	return maps[k];
}

static int cache_load(struct ct_session *s, const struct ct_options *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	int err;

	if (!ct_tracepoint_exists(s, "sched_switch"))
		return ct_probe_fail(s, CT_PROBE_CACHE, CT_STATE_UNSUPPORTED, -ENOENT, "load",
				     "the kernel has no sched_switch tracepoint");
	err = open_counters(s, (o->flags & CT_OPT_SOFTWARE_COUNTERS) ? software : hardware);
	if (err)
		return err;
	s->cache = cache_bpf__open_opts(&open_opts);
	if (!s->cache)
		return ct_probe_fail(s, CT_PROBE_CACHE, CT_STATE_FAILED, -errno, "open", "cannot open the cache probe");
	s->status[CT_PROBE_CACHE].hierarchy_id = CT_UNIFIED_HIERARCHY;
	ct_choose_attach_mode(s, CT_PROBE_CACHE, s->cache->obj, "sched_switch", o);
	for (int k = 0; k < CT_CACHE_COUNTERS; k++)
		bpf_map__set_max_entries(counter_map(s, k), s->ncpus);
	s->cache->rodata->by_task = (o->flags & CT_OPT_CACHE_BY_TASK) != 0;
	if (!(o->flags & CT_OPT_CACHE_BY_TASK))
		bpf_map__set_max_entries(s->cache->maps.cache_tasks, 1);
	err = ct_apply_test_sizes(s->cache->obj, o);
	if (!err)
		err = cache_bpf__load(s->cache);
	if (err)
		return ct_load_failed(s, CT_PROBE_CACHE, err);
	s->probe[CT_PROBE_CACHE] = (struct ct_probe_info){
		.ops = &ct_cache_ops,
		.obj = s->cache->obj,
		.health = &s->cache->bss->health,
	};
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		for (int k = 0; k < CT_CACHE_COUNTERS; k++) {
			int fd = s->perf_fds[(size_t)cpu * CT_CACHE_COUNTERS + k];
			__u32 key = cpu;

			if (fd >= 0 && bpf_map_update_elem(bpf_map__fd(counter_map(s, k)), &key, &fd, BPF_ANY))
				return ct_probe_fail(s, CT_PROBE_CACHE, CT_STATE_FAILED, -errno, "load",
						     "cannot hand the CPU %d counters to the cache probe", cpu);
		}
	}
	return 0;
}

static int cache_attach(struct ct_session *s)
{
	int err = cache_bpf__attach(s->cache);

	return err ? ct_probe_fail(s, CT_PROBE_CACHE, CT_STATE_FAILED, err, "attach",
				   "cannot attach the cache probe to sched_switch")
		   : 0;
}

static int put_cache(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		     const void *values, size_t stride)
{
	__u64 id = *(const __u64 *)key;
	bool dead = ct_dead_contains(&w->dead, CT_UNIFIED_HIERARCHY, id);
	struct ct_cache_record *r = ct_record_add(w, h);

	if (!r)
		return -ENOSPC;
	r->cgroup_id = id;
	r->flags = dead ? CT_RECORD_DEAD : 0;
	ct_sum_u64(r->v.count, values, stride, s->ncpus, CT_CACHE_COUNTERS);
	return dead;
}

static int put_task(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, const void *key,
		    const void *values, size_t stride)
{
	const struct ct_cache_task_key *k = key;
	struct ct_cache_task_record *r = ct_record_add(w, h);

	(void)s;
	(void)stride;
	if (!r)
		return -ENOSPC;
	r->pid = k->pid;
	r->cpu = k->cpu;
	r->v = *(const struct ct_cache_task *)values;
	return 0;
}

static int cache_read(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_CACHE, sizeof(struct ct_cache_record));
	int err;

	if (!h)
		return -ENOSPC;
	if ((err = ct_walk_map(s, w, h, s->cache->maps.cache_stats, put_cache)) || !s->cache->rodata->by_task)
		return err;
	if (!(h = ct_section_begin(w, CT_SECTION_CACHE_TASKS, sizeof(struct ct_cache_task_record))))
		return -ENOSPC;
	return ct_walk_map(s, w, h, s->cache->maps.cache_tasks, put_task);
}

static void cache_destroy(struct ct_session *s)
{
	cache_bpf__destroy(s->cache);
	s->cache = NULL;
	for (size_t i = 0; i < s->nperf_fds; i++)
		if (s->perf_fds[i] >= 0)
			close(s->perf_fds[i]);
	free(s->perf_fds);
	s->perf_fds = NULL;
	s->nperf_fds = 0;
}

const struct ct_probe_ops ct_cache_ops = {
	.name = "cache",
	.load = cache_load,
	.attach = cache_attach,
	.read = cache_read,
	.destroy = cache_destroy,
};

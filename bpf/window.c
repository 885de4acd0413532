// SPDX-License-Identifier: GPL-2.0
/* Reading a window: each active probe appends its sections of cumulative counters,
 * then a health section. Entries of dead cgroups are reported with CT_RECORD_DEAD and
 * deleted only once the whole window has been written, so a read retried with a larger
 * buffer loses nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "session.h"

/* How many reads a tombstone lives: a dead cgroup's last counters can still change
 * right after its rmdir (a victim's wait attributed to it from the run-segment ring,
 * a late IO completion), and those are reported and deleted too. */
#define CT_DEAD_READS 3

struct ct_section_header *ct_section_begin(struct ct_writer *w, __u32 kind, __u32 record_size)
{
	struct ct_section_header *h;

	if (w->full || w->len - w->used < sizeof(*h)) {
		w->full = true;
		return NULL;
	}
	h = (struct ct_section_header *)(w->buf + w->used);
	*h = (struct ct_section_header){ .kind = kind, .record_size = record_size };
	w->used += sizeof(*h);
	return h;
}

void *ct_record_add(struct ct_writer *w, struct ct_section_header *h)
{
	void *r;

	if (w->full || w->len - w->used < h->record_size) {
		w->full = true;
		return NULL;
	}
	r = w->buf + w->used;
	memset(r, 0, h->record_size);
	w->used += h->record_size;
	h->count++;
	return r;
}

void ct_sum_u64(__u64 *out, const void *values, size_t stride, int ncpus, size_t n)
{
	memset(out, 0, n * sizeof(*out));
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const __u64 *v = (const __u64 *)((const char *)values + (size_t)cpu * stride);

		for (size_t i = 0; i < n; i++)
			out[i] += v[i];
	}
}

static int defer_delete(struct ct_writer *w, int fd, const void *key, size_t key_size)
{
	struct ct_pending_delete *d;

	if (key_size > sizeof(d->key))
		return -E2BIG;
	if (w->ndeletes == w->deletes_cap) {
		size_t cap = w->deletes_cap ? w->deletes_cap * 2 : 64;
		struct ct_pending_delete *grown = realloc(w->deletes, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		w->deletes = grown;
		w->deletes_cap = cap;
	}
	d = &w->deletes[w->ndeletes++];
	d->fd = fd;
	memset(d->key, 0, sizeof(d->key));
	memcpy(d->key, key, key_size);
	return 0;
}

static bool is_percpu(enum bpf_map_type type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

int ct_walk_map(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, struct bpf_map *map,
		ct_entry_fn fn)
{
	int fd = bpf_map__fd(map);
	size_t key_size = bpf_map__key_size(map);
	size_t value_size = bpf_map__value_size(map);
	bool percpu = is_percpu(bpf_map__type(map));
	size_t stride = percpu ? (value_size + 7) / 8 * 8 : value_size;
	unsigned char *values = malloc(stride * (percpu ? s->ncpus : 1));
	unsigned char *key = malloc(key_size), *next = malloc(key_size);
	bool first = true;
	int err = 0;

	if (!values || !key || !next) {
		err = -ENOMEM;
		goto out;
	}
	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		first = false;
		memcpy(key, next, key_size);
		if (bpf_map_lookup_elem(fd, key, values) != 0)
			continue; /* removed between get_next_key and lookup */
		err = fn(s, w, h, key, values, stride);
		if (err < 0)
			break;
		if (err == 1)
			err = defer_delete(w, fd, key, key_size);
		if (err < 0)
			break;
		err = 0;
	}
out:
	free(values);
	free(key);
	free(next);
	return err;
}

static int compare_dead(const void *a, const void *b)
{
	const struct ct_dead *x = a, *y = b;

	if (x->hierarchy_id != y->hierarchy_id)
		return x->hierarchy_id < y->hierarchy_id ? -1 : 1;
	return x->cgroup_id < y->cgroup_id ? -1 : x->cgroup_id > y->cgroup_id;
}

void ct_dead_add(struct ct_dead_set *d, __s32 hierarchy_id, __u64 cgroup_id)
{
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct ct_dead *grown = realloc(d->items, cap * sizeof(*grown));

		if (!grown)
			return; /* the entry then lives on until the map is full: counted there */
		d->items = grown;
		d->cap = cap;
	}
	d->items[d->count++] = (struct ct_dead){ hierarchy_id, cgroup_id, CT_DEAD_READS };
	d->sorted = false;
}

bool ct_dead_contains(struct ct_dead_set *d, __s32 hierarchy_id, __u64 cgroup_id)
{
	struct ct_dead key = { hierarchy_id, cgroup_id, 0 };

	if (!d->count)
		return false;
	if (!d->sorted) {
		qsort(d->items, d->count, sizeof(*d->items), compare_dead);
		d->sorted = true;
	}
	return bsearch(&key, d->items, d->count, sizeof(*d->items), compare_dead) != NULL;
}

bool ct_dead_copy(struct ct_dead_set *to, struct ct_dead_set *from)
{
	ct_dead_contains(from, 0, 0); /* sorts */
	to->items = from->count ? malloc(from->count * sizeof(*from->items)) : NULL;
	if (from->count && !to->items)
		return false;
	if (from->count)
		memcpy(to->items, from->items, from->count * sizeof(*from->items));
	to->count = to->cap = from->count;
	to->sorted = true;
	return true;
}

void ct_dead_age(struct ct_dead_set *d)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->count; i++)
		if (--d->items[i].reads_left > 0)
			d->items[kept++] = d->items[i];
	d->count = kept;
}

void ct_dead_free(struct ct_dead_set *d)
{
	free(d->items);
	memset(d, 0, sizeof(*d));
}

static const struct ct_queue *queue_of(const struct ct_session *s, int probe)
{
	switch (probe) {
	case CT_PROBE_LIFECYCLE:
		return &s->cgroup_events;
	case CT_PROBE_IO:
		return &s->io_events;
	case CT_PROBE_MEMORY:
		return &s->reclaim_events;
	case CT_PROBE_CPU:
		return &s->runq_events;
	default:
		return NULL;
	}
}

static int write_health(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_HEALTH, sizeof(struct ct_health_record));

	if (!h)
		return -ENOSPC;
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		const struct ct_health *kernel;
		const struct ct_queue *q = queue_of(s, p);
		struct ct_health_record *r;

		if (s->status[p].state != CT_STATE_ACTIVE)
			continue;
		r = ct_record_add(w, h);
		if (!r)
			return -ENOSPC;
		r->probe = p;
		kernel = ct_ops(p)->health(s);
		if (kernel)
			r->kernel = *kernel;
		r->queue_dropped = q ? q->dropped : 0;
		r->stacks_lost = s->stacks_lost[p];
	}
	return 0;
}

static int write_time(struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_WINDOW, sizeof(struct ct_window_record));
	struct ct_window_record *r = h ? ct_record_add(w, h) : NULL;
	struct timespec now;

	if (!r)
		return -ENOSPC;
	clock_gettime(CLOCK_MONOTONIC, &now);
	r->time_ns = (__u64)now.tv_sec * 1000000000ULL + (__u64)now.tv_nsec;
	w->time_ns = r->time_ns;
	return 0;
}

static ssize_t write_window(struct ct_session *s, struct ct_writer *w, struct ct_error *e)
{
	int err;

	/* Learn every rmdir that happened before this read, then walk the maps unlocked. */
	pthread_mutex_lock(&s->lock);
	err = ct_events_pump(s);
	if (!err && !ct_dead_copy(&w->dead, &s->dead))
		err = -ENOMEM;
	pthread_mutex_unlock(&s->lock);
	if (err)
		return ct_fail(e, err, CT_PROBE_LIFECYCLE, "read", "cannot read the cgroup events");
	if (write_time(w))
		return ct_fail(e, -ENOSPC, -1, "read", "window buffer too small");
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		if (s->status[p].state != CT_STATE_ACTIVE || !ct_ops(p)->read)
			continue;
		err = ct_ops(p)->read(s, w);
		if (err == -ENOSPC || w->full)
			return ct_fail(e, -ENOSPC, p, "read", "window buffer too small");
		if (err)
			return ct_fail(e, err, p, "read", "cannot read the %s probe's maps", ct_probe_name(p));
	}
	if (write_health(s, w))
		return ct_fail(e, -ENOSPC, -1, "read", "window buffer too small");
	for (size_t i = 0; i < w->ndeletes; i++)
		bpf_map_delete_elem(w->deletes[i].fd, w->deletes[i].key);
	pthread_mutex_lock(&s->lock);
	ct_dead_age(&s->dead);
	pthread_mutex_unlock(&s->lock);
	return w->used;
}

ssize_t ct_read_window(struct ct_session *s, void *buf, size_t len, struct ct_error *e)
{
	struct ct_writer w = { .buf = buf, .len = len };
	ssize_t n;

	memset(e, 0, sizeof(*e));
	e->probe = -1;
	n = write_window(s, &w, e);
	free(w.deletes);
	ct_dead_free(&w.dead);
	return n;
}

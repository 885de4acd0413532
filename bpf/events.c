// SPDX-License-Identifier: GPL-2.0
/* Events from the kernel's ring buffers (cgroup lifecycle, slow IO, slow reclaim, slow
 * run-queue waits):
 * pumped into per-kind queues (on every drain and before every window read, so that
 * rmdirs are known before counters are read), kernel stacks resolved on the way, and
 * handed out as sections by ct_drain_events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "session.h"

/* Undrained records kept per kind; more are counted as dropped. */
#define CT_QUEUE_MAX 16384

static void queue_init(struct ct_queue *q, __u32 kind, __u32 record_size)
{
	q->kind = kind;
	q->record_size = record_size;
}

/* A zeroed slot at the end of the queue, or NULL (counted) when it is full. */
static void *queue_push(struct ct_queue *q)
{
	void *r;

	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		char *grown;

		if (cap > CT_QUEUE_MAX || !(grown = realloc(q->data, cap * q->record_size))) {
			q->dropped++;
			return NULL;
		}
		q->data = grown;
		q->cap = cap;
	}
	r = q->data + q->count * q->record_size;
	memset(r, 0, q->record_size);
	q->count++;
	return r;
}

static void resolve_stack(struct ct_pump *pump, int probe, __s32 stack_id, __u32 *nframes, __u64 *frames)
{
	struct bpf_map *map = ct_ops(probe)->stacks(pump->s);
	__u32 id = (__u32)stack_id;
	int fd;

	if (stack_id < 0 || !map)
		return;
	fd = bpf_map__fd(map);
	if (bpf_map_lookup_elem(fd, &id, frames) != 0) {
		pump->s->stacks_lost[probe]++;
		return;
	}
	while (*nframes < CT_STACK_DEPTH && frames[*nframes])
		(*nframes)++;
	if (pump->nused == pump->cap) {
		size_t cap = pump->cap ? pump->cap * 2 : 16;
		void *grown = realloc(pump->used, cap * sizeof(*pump->used));

		if (!grown)
			return;
		pump->used = grown;
		pump->cap = cap;
	}
	pump->used[pump->nused].fd = fd;
	pump->used[pump->nused].id = id;
	pump->nused++;
}

static int on_cgroup_event(void *ctx, void *data, size_t size)
{
	struct ct_pump *pump = ctx;
	const struct ct_cgroup_event *e = data;
	struct ct_cgroup_event *r;

	if (size < sizeof(*e))
		return 0;
	if (e->kind == CT_CGROUP_RMDIR)
		ct_dead_add(&pump->s->dead, e->hierarchy_id, e->cgroup_id);
	r = queue_push(&pump->s->cgroup_events);
	if (r)
		*r = *e;
	return 0;
}

static int on_io_event(void *ctx, void *data, size_t size)
{
	struct ct_pump *pump = ctx;
	struct ct_io_event_record *r;

	if (size < sizeof(r->e) || !(r = queue_push(&pump->s->io_events)))
		return 0;
	memcpy(&r->e, data, sizeof(r->e));
	resolve_stack(pump, CT_PROBE_IO, r->e.stack_id, &r->nframes, r->frames);
	return 0;
}

static int on_reclaim_event(void *ctx, void *data, size_t size)
{
	struct ct_pump *pump = ctx;
	struct ct_reclaim_event_record *r;

	if (size < sizeof(r->e) || !(r = queue_push(&pump->s->reclaim_events)))
		return 0;
	memcpy(&r->e, data, sizeof(r->e));
	resolve_stack(pump, CT_PROBE_MEMORY, r->e.stack_id, &r->nframes, r->frames);
	return 0;
}

static int on_runq_event(void *ctx, void *data, size_t size)
{
	struct ct_pump *pump = ctx;
	struct ct_runq_event *r;

	if (size < sizeof(*r) || !(r = queue_push(&pump->s->runq_events)))
		return 0;
	memcpy(r, data, sizeof(*r));
	return 0;
}

void ct_events_setup(struct ct_session *s)
{
	static const struct {
		int probe;
		ring_buffer_sample_fn fn;
	} sources[] = {
		{ CT_PROBE_LIFECYCLE, on_cgroup_event },
		{ CT_PROBE_IO, on_io_event },
		{ CT_PROBE_MEMORY, on_reclaim_event },
		{ CT_PROBE_CPU, on_runq_event },
	};

	queue_init(&s->cgroup_events, CT_SECTION_CGROUP_EVENTS, sizeof(struct ct_cgroup_event));
	queue_init(&s->io_events, CT_SECTION_IO_EVENTS, sizeof(struct ct_io_event_record));
	queue_init(&s->reclaim_events, CT_SECTION_RECLAIM_EVENTS, sizeof(struct ct_reclaim_event_record));
	queue_init(&s->runq_events, CT_SECTION_RUNQ_EVENTS, sizeof(struct ct_runq_event));
	s->pump.s = s;
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		int p = sources[i].probe, fd, err;

		if (s->status[p].state != CT_STATE_LOADED)
			continue;
		fd = bpf_map__fd(ct_ops(p)->events(s));
		if (!s->rings) {
			s->rings = ring_buffer__new(fd, sources[i].fn, &s->pump, NULL);
			err = s->rings ? 0 : -errno;
		} else {
			err = ring_buffer__add(s->rings, fd, sources[i].fn, &s->pump);
		}
		if (err)
			ct_probe_fail(s, p, CT_STATE_FAILED, err, "open", "cannot read the %s probe's ring buffer",
				      ct_probe_name(p));
	}
}

int ct_events_pump(struct ct_session *s)
{
	struct ct_pump *pump = &s->pump;
	int n;

	if (!s->rings)
		return 0;
	pump->nused = 0;
	n = ring_buffer__consume(s->rings);
	for (size_t i = 0; i < pump->nused; i++)
		bpf_map_delete_elem(pump->used[i].fd, &pump->used[i].id);
	return n < 0 ? n : 0;
}

/* Moves as many whole records of q as fit into w. */
static void drain_queue(struct ct_queue *q, struct ct_writer *w)
{
	struct ct_section_header *h;
	size_t room, n;

	if (!q->count || !(h = ct_section_begin(w, q->kind, q->record_size)))
		return;
	room = (w->len - w->used) / q->record_size;
	n = q->count < room ? q->count : room;
	memcpy(w->buf + w->used, q->data, n * q->record_size);
	w->used += n * q->record_size;
	h->count = n;
	q->count -= n;
	memmove(q->data, q->data + n * q->record_size, q->count * q->record_size);
	if (!n)
		w->used -= sizeof(*h); /* nothing fitted: no empty section */
}

ssize_t ct_drain_events(struct ct_session *s, void *buf, size_t len, struct ct_error *e)
{
	struct ct_writer w = { .buf = buf, .len = len };
	int err;

	memset(e, 0, sizeof(*e));
	e->probe = -1;
	pthread_mutex_lock(&s->lock);
	err = ct_events_pump(s);
	if (!err) {
		drain_queue(&s->cgroup_events, &w);
		drain_queue(&s->io_events, &w);
		drain_queue(&s->reclaim_events, &w);
		drain_queue(&s->runq_events, &w);
	}
	pthread_mutex_unlock(&s->lock);
	return err ? ct_fail(e, err, -1, "drain", "cannot read the probes' ring buffers") : (ssize_t)w.used;
}

void ct_events_free(struct ct_session *s)
{
	ring_buffer__free(s->rings);
	s->rings = NULL;
	free(s->pump.used);
	s->pump.used = NULL;
	free(s->cgroup_events.data);
	free(s->io_events.data);
	free(s->reclaim_events.data);
	free(s->runq_events.data);
}

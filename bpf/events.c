// SPDX-License-Identifier: GPL-2.0
/* Events from the probes' ring buffers (cgroup lifecycle, slow IO, slow reclaim, slow
 * run-queue waits) or the kernel module's read() stream: pumped into one queue per
 * probe (on every drain and before every window read, so that rmdirs are known before
 * counters are read), kernel stacks
 * resolved on the way, and handed out as sections by ct_drain_events. Each probe
 * describes its records in its struct ct_probe_info. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "session.h"

/* Undrained records kept per probe; more are counted as dropped. */
#define CT_QUEUE_MAX 16384

/* What follows the sample in a record of a probe with stacks. */
struct stack_tail {
	__u32 nframes;
	__u32 reserved;
	__u64 frames[CT_STACK_DEPTH];
};

/* A zeroed slot at the end of the queue, or NULL (counted) when it is full. */
static void *queue_push(struct ct_queue *q, size_t record_size)
{
	void *r;

	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		char *grown;

		if (cap > CT_QUEUE_MAX || !(grown = realloc(q->data, cap * record_size))) {
			q->dropped++;
			return NULL;
		}
		q->data = grown;
		q->cap = cap;
	}
	r = q->data + q->count * record_size;
	memset(r, 0, record_size);
	q->count++;
	return r;
}

/* Copies the frames of a stack id into the record's tail; the id is deleted from its map
 * once the pump is over. */
static void resolve_stack(struct ct_session *s, int probe, __s32 stack_id, struct stack_tail *tail)
{
	int fd = bpf_map__fd(s->probe[probe].stacks);
	__u32 id = (__u32)stack_id;

	if (stack_id < 0)
		return;
	if (bpf_map_lookup_elem(fd, &id, tail->frames) != 0) {
		s->stacks_lost[probe]++;
		return;
	}
	while (tail->nframes < CT_STACK_DEPTH && tail->frames[tail->nframes])
		tail->nframes++;
	if (s->nstacks_used == s->stacks_used_cap) {
		size_t cap = s->stacks_used_cap ? s->stacks_used_cap * 2 : 16;
		void *grown = realloc(s->stacks_used, cap * sizeof(*s->stacks_used));

		if (!grown)
			return;
		s->stacks_used = grown;
		s->stacks_used_cap = cap;
	}
	s->stacks_used[s->nstacks_used++] = (struct ct_stack_ref){ fd, id };
}

void ct_event_push(struct ct_session *s, int probe, const void *sample)
{
	struct ct_probe_info *p = &s->probe[probe];
	char *r;

	if (p->ops->on_event)
		p->ops->on_event(s, sample);
	r = queue_push(&p->queue, p->record_size);
	if (!r)
		return;
	memcpy(r, sample, p->sample_size);
	if (p->stacks) {
		__s32 stack_id;

		memcpy(&stack_id, r + p->stack_id_offset, sizeof(stack_id));
		resolve_stack(s, probe, stack_id, (struct stack_tail *)(r + p->sample_size));
	}
}

static int on_sample(void *ctx, void *data, size_t size)
{
	const struct ct_event_source *src = ctx;

	if (size >= src->s->probe[src->probe].sample_size)
		ct_event_push(src->s, src->probe, data);
	return 0;
}

void ct_events_setup(struct ct_session *s)
{
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		struct ct_event_source *src = &s->sources[p];
		int fd, err;

		if (s->status[p].state != CT_STATE_LOADED || !s->probe[p].events)
			continue;
		*src = (struct ct_event_source){ s, p };
		fd = bpf_map__fd(s->probe[p].events);
		if (!s->rings) {
			s->rings = ring_buffer__new(fd, on_sample, src, NULL);
			err = s->rings ? 0 : -errno;
		} else {
			err = ring_buffer__add(s->rings, fd, on_sample, src);
		}
		if (err)
			ct_probe_fail(s, p, CT_STATE_FAILED, err, "open", "cannot read the %s probe's ring buffer",
				      ct_probe_name(p));
	}
}

int ct_events_pump(struct ct_session *s)
{
	int n;

	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		const struct ct_probe_ops *ops = s->probe[p].ops;
		int state = s->status[p].state;

		if (ops->pump && (state == CT_STATE_LOADED || state == CT_STATE_ACTIVE) && (n = ops->pump(s)))
			return n;
	}
	if (!s->rings)
		return 0;
	s->nstacks_used = 0;
	n = ring_buffer__consume(s->rings);
	for (size_t i = 0; i < s->nstacks_used; i++)
		bpf_map_delete_elem(s->stacks_used[i].fd, &s->stacks_used[i].id);
	return n < 0 ? n : 0;
}

/* Moves as many whole records of a probe's queue as fit into w. */
static void drain_queue(struct ct_probe_info *p, struct ct_writer *w)
{
	struct ct_queue *q = &p->queue;
	struct ct_section_header *h;
	size_t room, n;

	if (!q->count || !(h = ct_section_begin(w, p->event_kind, p->record_size)))
		return;
	room = (w->len - w->used) / p->record_size;
	n = q->count < room ? q->count : room;
	memcpy(w->buf + w->used, q->data, n * p->record_size);
	w->used += n * p->record_size;
	h->count = n;
	q->count -= n;
	memmove(q->data, q->data + n * p->record_size, q->count * p->record_size);
	if (!n)
		w->used -= sizeof(*h); /* nothing fitted: no empty section */
}

ssize_t ct_drain_events(struct ct_session *s, void *buf, size_t len, struct ct_error *e)
{
	struct ct_writer w = { .buf = buf, .len = len };
	int err;

	ct_error_reset(e);
	pthread_mutex_lock(&s->lock);
	err = ct_events_pump(s);
	if (!err) {
		/* Cgroup births first: a slow event of a new container names a known cgroup. */
		drain_queue(&s->probe[CT_PROBE_LIFECYCLE], &w);
		for (int p = 0; p < CT_PROBE_COUNT; p++)
			if (p != CT_PROBE_LIFECYCLE)
				drain_queue(&s->probe[p], &w);
	}
	pthread_mutex_unlock(&s->lock);
	return err ? ct_fail(e, err, -1, "drain", "cannot read the probes' ring buffers") : (ssize_t)w.used;
}

void ct_events_free(struct ct_session *s)
{
	ring_buffer__free(s->rings);
	s->rings = NULL;
	free(s->stacks_used);
	s->stacks_used = NULL;
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		free(s->probe[p].queue.data);
		s->probe[p].queue = (struct ct_queue){ 0 };
	}
}

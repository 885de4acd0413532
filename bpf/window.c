// SPDX-License-Identifier: GPL-2.0
/* ct_read_window: each active probe appends its sections of cumulative counters after
 * the window's time, then a health section. */
#include <errno.h>
#include <time.h>
#include "session.h"

static int write_health(struct ct_session *s, struct ct_writer *w)
{
	struct ct_section_header *h = ct_section_begin(w, CT_SECTION_HEALTH, sizeof(struct ct_health_record));

	if (!h)
		return -ENOSPC;
	for (int p = 0; p < CT_PROBE_COUNT; p++) {
		const struct ct_probe_info *probe = &s->probe[p];
		struct ct_health_record *r;

		if (s->status[p].state != CT_STATE_ACTIVE)
			continue;
		r = ct_record_add(w, h);
		if (!r)
			return -ENOSPC;
		r->probe = p;
		if (probe->health)
			r->kernel = *probe->health;
		r->queue_dropped = probe->queue.dropped;
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
		const struct ct_probe_ops *ops = s->probe[p].ops;

		if (s->status[p].state != CT_STATE_ACTIVE || !ops->read)
			continue;
		err = ops->read(s, w);
		if (err == -ENOSPC || w->full)
			return ct_fail(e, -ENOSPC, p, "read", "window buffer too small");
		if (err)
			return ct_fail(e, err, p, "read", "cannot read the %s probe's maps", ct_probe_name(p));
	}
	if (write_health(s, w))
		return ct_fail(e, -ENOSPC, -1, "read", "window buffer too small");
	return w->used;
}

ssize_t ct_read_window(struct ct_session *s, void *buf, size_t len, struct ct_error *e)
{
	struct ct_writer w = { .buf = buf, .len = len };
	ssize_t n;

	ct_error_reset(e);
	n = write_window(s, &w, e);
	ct_writer_finish(&w, n >= 0);
	for (int p = 0; p < CT_PROBE_COUNT; p++)
		if (s->status[p].state == CT_STATE_ACTIVE && s->probe[p].ops->read_done)
			s->probe[p].ops->read_done(s, n >= 0);
	if (n >= 0) {
		pthread_mutex_lock(&s->lock);
		ct_dead_age(&s->dead);
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}

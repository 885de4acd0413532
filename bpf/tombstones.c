// SPDX-License-Identifier: GPL-2.0
/* Tombstones: cgroups whose rmdir was seen. Their counters are reported with
 * CT_RECORD_DEAD for a few more reads, because a dead cgroup's last counters can still
 * change right after its rmdir (a victim's wait attributed to it from the run-segment
 * ring, a late IO completion); those are reported and deleted too. */
#include <stdlib.h>
#include <string.h>
#include "session.h"

/* How many reads a tombstone lives. */
#define CT_DEAD_READS 3

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


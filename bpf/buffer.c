// SPDX-License-Identifier: GPL-2.0
/* Writing into a caller's buffer: sections of fixed-size records (layout in
 * crosstalk.h), filled from map walks. Entries a walk marks for deletion (dead cgroups)
 * are deleted only once the whole buffer is written, so a read retried with a larger
 * buffer loses nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "session.h"

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

void ct_writer_finish(struct ct_writer *w, bool apply_deletes)
{
	if (apply_deletes)
		for (size_t i = 0; i < w->ndeletes; i++)
			bpf_map_delete_elem(w->deletes[i].fd, w->deletes[i].key);
	free(w->deletes);
	w->deletes = NULL;
	w->ndeletes = w->deletes_cap = 0;
	ct_dead_free(&w->dead);
}

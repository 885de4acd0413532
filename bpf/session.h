/* Internals shared by the C library's files (crosstalk.c, window.c, events.c and one
 * loader per probe); never included by the addon. */
#ifndef CROSSTALK_SESSION_H
#define CROSSTALK_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "crosstalk.h"

struct cpu_bpf;
struct io_bpf;
struct memory_bpf;
struct cache_bpf;
struct lifecycle_bpf;

/* Hierarchy id of the unified (v2) hierarchy, as in /proc/<pid>/cgroup's "0::". */
#define CT_UNIFIED_HIERARCHY 0

/* Dead cgroups (rmdir seen) whose counters are reported once more, then deleted. */
struct ct_dead {
	__s32 hierarchy_id;
	__u64 cgroup_id;
	int reads_left;
};

struct ct_dead_set {
	struct ct_dead *items; /* sorted by (hierarchy_id, cgroup_id) after each pump */
	size_t count, cap;
	bool sorted;
};

/* Records waiting for ct_drain_events, one queue per section kind. */
struct ct_queue {
	__u32 kind;
	__u32 record_size;
	char *data;
	size_t count, cap; /* in records */
	__u64 dropped;
};

/* Stack ids resolved during one pump of the ring buffers, deleted from their maps at
 * its end (two events can share one id, so not before). */
struct ct_stack_ref {
	int fd;
	__u32 id;
};

struct ct_pump {
	struct ct_session *s;
	struct ct_stack_ref *used;
	size_t nused, cap;
};

struct ct_session {
	/* Guards the ring buffers, event queues and dead set: ct_read_window runs on a worker
	 * thread while the caller may drain events or attach. */
	pthread_mutex_t lock;
	int ncpus;
	struct btf *vmlinux_btf;             /* during ct_open only */
	struct ct_probe_status status[CT_PROBE_COUNT];
	struct cpu_bpf *cpu;
	struct ct_running_segment *running; /* cpu probe: one per CPU, scratch of each read */
	struct io_bpf *io;
	struct memory_bpf *memory;
	struct cache_bpf *cache;
	struct lifecycle_bpf *lifecycle;
	int *perf_fds;                       /* cache probe: CT_CACHE_COUNTERS per CPU */
	size_t nperf_fds;
	struct ring_buffer *rings;
	struct ct_pump pump;
	struct ct_queue cgroup_events, io_events, reclaim_events, runq_events;
	__u64 stacks_lost[CT_PROBE_COUNT];
	struct ct_dead_set dead;
};

/* A window or event buffer being written (window.c), with the map entries of dead
 * cgroups to delete once the whole window is written. */
struct ct_pending_delete {
	int fd;
	unsigned char key[16];
};

struct ct_writer {
	char *buf;
	size_t len, used;
	bool full;
	__u64 time_ns;           /* the window's end (CLOCK_MONOTONIC) */
	struct ct_dead_set dead; /* the session's, as of the start of the read */
	struct ct_pending_delete *deletes;
	size_t ndeletes, deletes_cap;
};

/* Each probe's piece of the loader (cpu.c, io.c, memory.c, cache.c, lifecycle.c). */
struct ct_probe_ops {
	/* Opens and loads; returns 0 or a negative errno after filling status. */
	int (*load)(struct ct_session *s, const struct ct_options *o);
	int (*attach)(struct ct_session *s);
	/* Appends the probe's sections; negative errno on failure (-ENOSPC: grow). */
	int (*read)(struct ct_session *s, struct ct_writer *w);
	void (*destroy)(struct ct_session *s);
	const struct ct_health *(*health)(const struct ct_session *s);
	struct bpf_object *(*object)(const struct ct_session *s);
	/* The victim set map, or NULL when the probe takes no targets. */
	struct bpf_map *(*targets)(const struct ct_session *s);
	/* Optional: a summary of the victim set the kernel side reads before the map. Called
	 * with widen=true before the map changes (old and new ids must both pass) and with
	 * widen=false after (exactly the new ids). */
	void (*target_hint)(struct ct_session *s, const __u64 *ids, size_t count, bool widen);
	/* The ring buffer of its event records and the stack map they refer to, or NULL. */
	struct bpf_map *(*events)(const struct ct_session *s);
	struct bpf_map *(*stacks)(const struct ct_session *s);
};

extern const struct ct_probe_ops ct_cpu_ops, ct_io_ops, ct_memory_ops, ct_cache_ops, ct_lifecycle_ops;

/* crosstalk.c */
const struct ct_probe_ops *ct_ops(int probe);
/* For ct_probe_ops members a probe does not have. */
struct bpf_map *ct_no_map(const struct ct_session *s);
int ct_fail(struct ct_error *e, int err, int probe, const char *op, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Marks a probe unsupported or failed; returns err (negative). */
int ct_probe_fail(struct ct_session *s, int probe, int state, int err, const char *op, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void ct_libbpf_message_reset(void);
/* Whether the kernel has the tracepoint, and whether a tp_btf program can attach to it
 * (otherwise the raw_tp twin is used). */
bool ct_tracepoint_exists(const struct ct_session *s, const char *tracepoint);
/* Number of parameters of the tracepoint (without the hidden context), -1 if unknown. */
int ct_tracepoint_arity(const struct ct_session *s, const char *tracepoint);
/* Picks tp_btf or raw_tp for a probe whose programs are named <prefix>_btf / _raw. */
int ct_choose_attach_mode(struct ct_session *s, int probe, struct bpf_object *obj, const char *tracepoint,
			  const struct ct_options *o);
/* Shared load error path: sets the probe failed with a hint about the errno. */
int ct_load_failed(struct ct_session *s, int probe, int err);

/* window.c: writing sections and walking maps */
struct ct_section_header *ct_section_begin(struct ct_writer *w, __u32 kind, __u32 record_size);
/* The next zeroed record of the open section, or NULL when the buffer is full. */
void *ct_record_add(struct ct_writer *w, struct ct_section_header *h);

/* Called per map entry with the value of every CPU (stride apart; one for non-per-CPU
 * maps). Returns 1 to delete the entry after the walk, 0 to keep it, or a negative
 * errno to stop. */
typedef int (*ct_entry_fn)(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h,
			   const void *key, const void *values, size_t stride);
int ct_walk_map(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, struct bpf_map *map,
		ct_entry_fn fn);
/* Sums n u64 fields of every CPU's value into out. */
void ct_sum_u64(__u64 *out, const void *values, size_t stride, int ncpus, size_t n);

/* Dead cgroups (tombstones). */
void ct_dead_add(struct ct_dead_set *d, __s32 hierarchy_id, __u64 cgroup_id);
bool ct_dead_contains(struct ct_dead_set *d, __s32 hierarchy_id, __u64 cgroup_id);
/* A sorted copy for a read; false when out of memory. */
bool ct_dead_copy(struct ct_dead_set *to, struct ct_dead_set *from);
/* After a read: each tombstone is kept for CT_DEAD_READS reads, then forgotten. */
void ct_dead_age(struct ct_dead_set *d);
void ct_dead_free(struct ct_dead_set *d);

/* events.c */
void ct_events_setup(struct ct_session *s);
/* Moves everything the kernel produced into the queues (and learns dead cgroups).
 * Called with s->lock held. */
int ct_events_pump(struct ct_session *s);
void ct_events_free(struct ct_session *s);

#endif

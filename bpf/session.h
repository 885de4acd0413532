/* Internals shared by the C library's files; never included by the addon.
 *
 * Calls run one way:
 *   crosstalk.c (ct_open ... ct_close)  -> events.c (setup), probes.c, each probe's ops
 *                                          (the eBPF loaders, or kmod.c on the module)
 *   window.c (ct_read_window)           -> events.c (pump), each probe's read
 *   events.c (ct_drain_events), probes  -> buffer.c, tombstones.c, kernel.c, errors.c
 * Each probe is one entry in probes.c's table (its struct ct_probe_ops) and fills its
 * struct ct_probe_info when it loads. docs/adding-a-probe.md lists the files to touch. */
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

/* Dead cgroups (rmdir seen) whose counters are reported a few times more, then deleted
 * (tombstones.c). */
struct ct_dead {
	__s32 hierarchy_id;
	__u64 cgroup_id;
	int reads_left;
};

struct ct_dead_set {
	struct ct_dead *items; /* sorted by (hierarchy_id, cgroup_id) before lookups */
	size_t count, cap;
	bool sorted;
};

/* Records of one probe waiting for ct_drain_events. */
struct ct_queue {
	char *data;
	size_t count, cap; /* in records */
	__u64 dropped;
};

/* One probe in a session: its functions (set by ct_open) and what its load hands the
 * library. */
struct ct_probe_info {
	const struct ct_probe_ops *ops;
	struct bpf_object *obj;
	const struct ct_health *health;         /* its kernel-side failure counters */
	struct bpf_map *targets;                /* victim set (targets.bpf.h), or NULL */
	volatile __u64 *target_bits;            /* the bitmap beside it */
	struct bpf_map *events;                 /* ring buffer of its records, or NULL */
	__u32 event_kind;                       /* enum ct_section_kind of its records */
	__u32 sample_size;                      /* bytes of one record as the kernel sends it */
	__u32 record_size;                      /* bytes of one record in ct_drain_events */
	/* With a stack map: where the sample keeps its stack id (__s32); the record then
	 * continues after the sample with __u32 nframes, __u32 reserved, frames[]. */
	struct bpf_map *stacks;
	__u32 stack_id_offset;
	struct ct_queue queue;                  /* events.c */
};

/* Stack ids resolved during one pump of the ring buffers, deleted from their maps at
 * its end (two events can share one id, so not before). */
struct ct_stack_ref {
	int fd;
	__u32 id;
};

struct ct_session;

/* The ring-buffer callback's context: one per probe with events. */
struct ct_event_source {
	struct ct_session *s;
	int probe;
};

struct ct_session {
	/* Guards the ring buffers, event queues and dead set: ct_read_window runs on a worker
	 * thread while the caller may drain events or attach. */
	pthread_mutex_t lock;
	int ncpus;
	struct btf *vmlinux_btf; /* during ct_open only */
	struct ct_probe_status status[CT_PROBE_COUNT];
	struct ct_probe_info probe[CT_PROBE_COUNT];
	/* Each probe's skeleton, and what its loader keeps beside it. */
	struct cpu_bpf *cpu;
	struct ct_running_segment *running; /* cpu probe: one per CPU, scratch of each read */
	struct io_bpf *io;
	struct memory_bpf *memory;
	struct cache_bpf *cache;
	int *perf_fds; /* cache probe: CT_CACHE_COUNTERS per CPU */
	size_t nperf_fds;
	struct lifecycle_bpf *lifecycle;
	/* events.c */
	struct ring_buffer *rings;
	struct ct_event_source sources[CT_PROBE_COUNT];
	struct ct_stack_ref *stacks_used;
	size_t nstacks_used, stacks_used_cap;
	__u64 stacks_lost[CT_PROBE_COUNT];
	struct ct_dead_set dead;
	/* The kernel-module backend (kmod.c): the device, what it offers, the options its
	 * probes were opened with, the read buffer and the dead ids a read reported. */
	int kmod_fd; /* -1: the eBPF backend */
	__u32 kmod_probes;
	bool kmod_all_cgroups, kmod_runq_events, kmod_memcg;
	__u64 kmod_runq_slow_ns, kmod_reclaim_slow_ns, kmod_io_slow_ns;
	struct ct_health kmod_health[CT_PROBE_COUNT];
	void *kmod_buf;
	size_t kmod_buf_len;
	__u64 *forget;
	size_t nforget, forget_cap;
};

/* A window or event buffer being written (buffer.c), with the map entries of dead
 * cgroups to delete once the whole window is written. */
struct ct_pending_delete {
	int fd;
	unsigned char key[24];
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

/* A probe's functions (cpu.c, io.c, memory.c, cache.c, lifecycle.c). */
struct ct_probe_ops {
	const char *name;
	/* Opens and loads, filling s->probe[its id]; returns 0 or a negative errno after
	 * filling status. */
	int (*load)(struct ct_session *s, const struct ct_options *o);
	int (*attach)(struct ct_session *s);
	/* Appends the probe's sections; negative errno on failure (-ENOSPC: grow). NULL for
	 * a probe with events only. */
	int (*read)(struct ct_session *s, struct ct_writer *w);
	void (*destroy)(struct ct_session *s);
	/* Optional: sees each of its records as it is pumped (with s->lock held). */
	void (*on_event)(struct ct_session *s, const void *sample);
	/* Optional: replaces its victim set (else the targets map and bitmap are written). */
	int (*set_targets)(struct ct_session *s, const __u64 *ids, size_t count);
	/* Optional: moves its kernel's pending records into the queues (with s->lock held;
	 * else its ring buffer is consumed). */
	int (*pump)(struct ct_session *s);
	/* Optional: after a window read, whether its writes were applied. */
	void (*read_done)(struct ct_session *s, bool applied);
};

extern const struct ct_probe_ops ct_cpu_ops, ct_io_ops, ct_memory_ops, ct_cache_ops, ct_lifecycle_ops;
extern const struct ct_probe_ops ct_kmod_cpu_ops, ct_kmod_io_ops, ct_kmod_memory_ops, ct_kmod_cache_ops,
	ct_kmod_lifecycle_ops;

/* probes.c: the eBPF probes, or the kernel module's (CT_OPT_KMOD) */
const struct ct_probe_ops *ct_probe_ops_of(int probe, bool kmod);

/* lifecycle.c: an rmdir makes the cgroup a tombstone (both backends) */
void ct_lifecycle_on_event(struct ct_session *s, const void *sample);

/* kmod.c */
/* Opens /dev/crosstalk and checks its ABI version. */
int ct_kmod_open(struct ct_session *s, struct ct_error *e);
int ct_kmod_program_stats(const struct ct_session *s, struct ct_prog_stats *out, size_t max);

/* errors.c */
int ct_fail(struct ct_error *e, int err, int probe, const char *op, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Marks a probe unsupported or failed; returns err (negative). */
int ct_probe_fail(struct ct_session *s, int probe, int state, int err, const char *op, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Shared load error path: sets the probe failed with a hint about the errno. */
int ct_load_failed(struct ct_session *s, int probe, int err);
/* Starts an operation: libbpf's next warning explains its failure. */
void ct_libbpf_message_reset(void);
void ct_error_reset(struct ct_error *e);

/* kernel.c: what the running kernel offers */
/* Whether the kernel has the tracepoint. */
bool ct_tracepoint_exists(const struct ct_session *s, const char *tracepoint);
/* Number of parameters of the tracepoint (without the hidden context), -1 if unknown. */
int ct_tracepoint_arity(const struct ct_session *s, const char *tracepoint);
/* Picks tp_btf or raw_tp for a probe whose programs are named <prefix>_btf / _raw;
 * returns whether tp_btf was chosen. */
bool ct_choose_attach_mode(struct ct_session *s, int probe, struct bpf_object *obj, const char *tracepoint,
			   const struct ct_options *o);
/* Applies the test sizes of struct ct_options to a probe's maps; called right before
 * its load. Returns 0 or a negative errno. */
int ct_apply_test_sizes(struct bpf_object *obj, const struct ct_options *o);
/* The blkio controller's hierarchy id from /proc/cgroups (CT_UNIFIED_HIERARCHY: the
 * unified one, or no blkio). */
int ct_blkio_hierarchy(void);

/* buffer.c: writing sections and walking maps into them */
struct ct_section_header *ct_section_begin(struct ct_writer *w, __u32 kind, __u32 record_size);
/* The next zeroed record of the open section, or NULL when the buffer is full. */
void *ct_record_add(struct ct_writer *w, struct ct_section_header *h);
/* Called per map entry with the value of every CPU (stride apart; one for non-per-CPU
 * maps). Returns 1 to delete the entry after the whole window is written, 0 to keep
 * it, or a negative errno to stop. */
typedef int (*ct_entry_fn)(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h,
			   const void *key, const void *values, size_t stride);
int ct_walk_map(struct ct_session *s, struct ct_writer *w, struct ct_section_header *h, struct bpf_map *map,
		ct_entry_fn fn);
/* Sums n u64 fields of every CPU's value into out. */
void ct_sum_u64(__u64 *out, const void *values, size_t stride, int ncpus, size_t n);
/* Deletes the entries ct_walk_map was asked to; frees the writer's memory. */
void ct_writer_finish(struct ct_writer *w, bool apply_deletes);

/* tombstones.c */
void ct_dead_add(struct ct_dead_set *d, __s32 hierarchy_id, __u64 cgroup_id);
bool ct_dead_contains(struct ct_dead_set *d, __s32 hierarchy_id, __u64 cgroup_id);
/* A sorted copy for a read; false when out of memory. */
bool ct_dead_copy(struct ct_dead_set *to, struct ct_dead_set *from);
/* After a read: each tombstone is kept for a few reads, then forgotten. */
void ct_dead_age(struct ct_dead_set *d);
void ct_dead_free(struct ct_dead_set *d);

/* events.c */
/* Connects the ring buffer of every loaded probe that has one. */
void ct_events_setup(struct ct_session *s);
/* Moves everything the kernel produced into the queues (and lets probes see it).
 * Called with s->lock held. */
int ct_events_pump(struct ct_session *s);
/* Queues one record of the probe as its kernel sent it (sample_size bytes). */
void ct_event_push(struct ct_session *s, int probe, const void *sample);
void ct_events_free(struct ct_session *s);

#endif

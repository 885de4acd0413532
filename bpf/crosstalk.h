/* crosstalk's C interface to its kernel probes (design §5): open, set targets, attach,
 * read a window, drain events, close. The native addon (agent/native) is its only
 * caller; it never sees libbpf. Every function returns 0 (or a size) or a negative
 * errno and fills struct ct_error.
 *
 * Every record that crosses into TypeScript is mirrored in agent/native/layout.ts; a
 * test compares both against offsetof() values exported by the addon. */
#ifndef CROSSTALK_H
#define CROSSTALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>

#include "cache.h"
#include "cpu.h"
#include "io.h"
#include "lifecycle.h"
#include "memory.h"

enum ct_probe {
	CT_PROBE_CPU = 0,
	CT_PROBE_IO,
	CT_PROBE_MEMORY,
	CT_PROBE_CACHE,
	CT_PROBE_LIFECYCLE, /* loaded whenever another probe is: it retires dead cgroups */
	CT_PROBE_COUNT,
};

#define CT_OPT_CAPTURE_STACKS (1u << 0)      /* kernel stacks in slow IO / reclaim records */
#define CT_OPT_FORCE_RAW_TP (1u << 1)        /* tests: use the raw_tp fallback programs */
#define CT_OPT_SOFTWARE_COUNTERS (1u << 2)   /* tests: software perf events stand in for
					      * the cache probe's hardware counters */
#define CT_OPT_ALL_CGROUPS (1u << 3)         /* node-local tools: every cgroup is a victim
					      * (cpu, io, memory), no targets needed */
#define CT_OPT_RUNQ_EVENTS (1u << 4)         /* slow run-queue wait records (cpu probe) */
#define CT_OPT_CACHE_BY_TASK (1u << 5)       /* cache probe: counters per process and CPU too */
#define CT_OPT_KMOD (1u << 6)                /* the kernel-module backend (/dev/crosstalk,
					      * kmod/) instead of eBPF: cpu, io, memory, lifecycle */

struct ct_options {
	__u32 probes;        /* bit (1 << enum ct_probe) per probe to load */
	__u32 flags;         /* CT_OPT_* */
	const char *btf_path;   /* kernel BTF for CO-RE; NULL means the running kernel's */
	__u64 io_slow_ns;    /* slow-IO record threshold (0: every victim request) */
	__u64 reclaim_slow_ns; /* slow-reclaim record threshold (0: every victim stall) */
	__u64 runq_slow_ns;  /* slow-wait record threshold, with CT_OPT_RUNQ_EVENTS */
	/* Tests only (0: the built-in sizes): the per-cgroup and pair maps hold this many
	 * entries, and every ring buffer has this many bytes (a power-of-two multiple of the
	 * page size), so that a test overflows them with a few dozen cgroups or a burst. */
	__u32 test_map_entries;
	__u32 test_ring_bytes;
};

struct ct_error {
	int err;                /* negative errno */
	int probe;              /* enum ct_probe, or -1 when no single probe failed */
	char op[16];            /* "open", "load", "attach", "read" ... */
	char message[512];
};

enum ct_probe_state {
	CT_STATE_OFF = 0,       /* not requested */
	CT_STATE_LOADED,        /* in the kernel, not attached yet */
	CT_STATE_ACTIVE,        /* attached */
	CT_STATE_UNSUPPORTED,   /* this kernel or machine lacks what it needs (err says what) */
	CT_STATE_FAILED,        /* an error stopped it (err, op, message) */
};

enum ct_attach_mode {
	CT_ATTACH_NONE = 0,
	CT_ATTACH_TP_BTF,
	CT_ATTACH_RAW_TP,
	CT_ATTACH_KMOD,         /* a tracepoint probe of the kernel module */
};

struct ct_probe_status {
	__s32 state;          /* enum ct_probe_state */
	__s32 err;            /* negative errno when unsupported or failed */
	__s32 attach_mode;    /* enum ct_attach_mode */
	__s32 hierarchy_id;   /* hierarchy its cgroup ids belong to (-1: none) */
	char op[16];
	char message[256];
};

/* A victim cgroup: its id within one hierarchy (0: unified; v1 ids per /proc/cgroups). */
struct ct_target {
	__s32 hierarchy_id;
	__u32 reserved;
	__u64 cgroup_id;
};

/* Window and event buffers: a sequence of sections, each a header followed by count
 * records of record_size bytes. Counters are cumulative since the probe was loaded;
 * a cgroup whose rmdir was seen is reported with CT_RECORD_DEAD once (or a few times,
 * see crosstalk.c) and its entries are then deleted, so a later record of the same id
 * starts again from zero. */
enum ct_section_kind {
	CT_SECTION_CPU_CGROUPS = 1,     /* struct ct_cpu_cgroup_record */
	CT_SECTION_RUNQ_VICTIMS = 2,    /* struct ct_runq_victim_record */
	CT_SECTION_WAIT_PAIRS = 3,      /* struct ct_wait_pair_record */
	CT_SECTION_IO_STATS = 4,        /* struct ct_io_stats_record */
	CT_SECTION_IO_LATENCY = 5,      /* struct ct_io_latency_record */
	CT_SECTION_RECLAIM = 6,         /* struct ct_reclaim_record */
	CT_SECTION_CACHE = 7,           /* struct ct_cache_record */
	CT_SECTION_HEALTH = 8,          /* struct ct_health_record */
	CT_SECTION_WINDOW = 9,          /* struct ct_window_record (one, first) */
	CT_SECTION_CACHE_TASKS = 10,    /* struct ct_cache_task_record (CT_OPT_CACHE_BY_TASK) */
	CT_SECTION_IO_DELAYS = 11,      /* struct ct_io_delay_record */
	CT_SECTION_CGROUP_EVENTS = 16,  /* struct ct_cgroup_event (lifecycle.h) */
	CT_SECTION_IO_EVENTS = 17,      /* struct ct_io_event_record */
	CT_SECTION_RECLAIM_EVENTS = 18, /* struct ct_reclaim_event_record */
	CT_SECTION_RUNQ_EVENTS = 19,    /* struct ct_runq_event (cpu.h) */
};

struct ct_section_header {
	__u32 kind;
	__u32 count;
	__u32 record_size;
	__u32 reserved;
};

#define CT_RECORD_DEAD (1u << 0) /* the cgroup was removed: final counters */

struct ct_cpu_cgroup_record {
	__u64 cgroup_id;     /* unified */
	__u32 flags;         /* CT_RECORD_* */
	__u32 reserved;
	struct ct_cpu_cgroup v; /* summed over CPUs; oncpu_ns includes the segments still
				 * running when the window was read (cpu.c) */
};

struct ct_runq_victim_record {
	__u64 cgroup_id;     /* unified */
	__u32 flags;
	__u32 reserved;
	struct ct_runq_victim v; /* summed over CPUs */
};

struct ct_wait_pair_record {
	__u64 victim;        /* unified */
	__u64 aggressor;     /* unified; 0: the CPU was idle */
	__u32 flags;
	__u32 reserved;
	__u64 wait_ns;
};

struct ct_io_stats_record {
	struct ct_io_key key;   /* cgroup: io's hierarchy (struct ct_probe_status) */
	__u32 flags;
	__u32 reserved;
	struct ct_io_stats v;
};

struct ct_io_latency_record {
	struct ct_io_key key;
	__u32 flags;
	__u32 reserved;
	struct ct_io_latency v;
};

struct ct_io_delay_record {
	struct ct_io_delay_key key; /* cgroups: io's hierarchy */
	__u32 flags;
	__u32 reserved;
	struct ct_io_delay v;
};

struct ct_reclaim_record {
	__u64 cgroup_id;     /* unified */
	__u32 flags;
	__u32 reserved;
	struct ct_reclaim_stats v;
};

struct ct_cache_record {
	__u64 cgroup_id;     /* unified */
	__u32 flags;
	__u32 reserved;
	struct ct_cache_stats v; /* summed over CPUs */
};

struct ct_cache_task_record {
	__u32 pid;           /* process (thread group) id */
	__u32 cpu;
	__u32 flags;
	__u32 reserved;
	struct ct_cache_task v;
};

/* When the maps were read: the window's end (CLOCK_MONOTONIC, as bpf_ktime_get_ns),
 * taken in the reading thread so a slow caller does not stretch the window. */
struct ct_window_record {
	__u64 time_ns;
};

struct ct_health_record {
	__u32 probe;         /* enum ct_probe */
	__u32 reserved;
	struct ct_health kernel;
	__u64 queue_dropped; /* events user space dropped: too many undrained */
	__u64 stacks_lost;   /* stack ids that could no longer be resolved */
};

struct ct_io_event_record {
	struct ct_io_event e;
	__u32 nframes;
	__u32 reserved;
	__u64 frames[CT_STACK_DEPTH]; /* kernel addresses, innermost first */
};

struct ct_reclaim_event_record {
	struct ct_reclaim_event e;
	__u32 nframes;
	__u32 reserved;
	__u64 frames[CT_STACK_DEPTH];
};

/* Run-time statistics of one BPF program (kernel.bpf_stats_enabled must be 1 for the
 * times to move). */
struct ct_prog_stats {
	char name[64];
	__s32 probe;
	__u32 reserved;
	__u64 run_time_ns;
	__u64 run_count;
	__u64 recursion_misses;
};

struct ct_session;

/* Loads every requested probe independently: one that cannot load is marked
 * unsupported or failed (see ct_status) and the others carry on. Fails only when
 * nothing could be loaded or on a global error (no BTF, no memory). */
int ct_open(const struct ct_options *opts, struct ct_session **out, struct ct_error *err);
/* Replaces the victim set. Each probe takes the targets of its own hierarchy. */
int ct_set_targets(struct ct_session *s, const struct ct_target *targets, size_t count, struct ct_error *err);
/* Attaches every loaded probe; fails only when none could be attached. */
int ct_attach(struct ct_session *s, struct ct_error *err);
int ct_status(const struct ct_session *s, int probe, struct ct_probe_status *out);
/* Writes the cumulative counters of every active probe into buf; returns the bytes
 * used or a negative errno (-ENOSPC when buf is too small: call again with a larger
 * one; nothing is lost). */
ssize_t ct_read_window(struct ct_session *s, void *buf, size_t len, struct ct_error *err);
/* Moves pending events (cgroup lifecycle, slow IO, slow reclaim) into buf as whole
 * records; returns the bytes used (0: none pending). What does not fit stays queued. */
ssize_t ct_drain_events(struct ct_session *s, void *buf, size_t len, struct ct_error *err);
/* Fills up to max entries; returns how many programs are loaded. */
int ct_program_stats(const struct ct_session *s, struct ct_prog_stats *out, size_t max);
void ct_close(struct ct_session *s);

const char *ct_probe_name(int probe);

#endif

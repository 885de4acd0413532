/* The ABI of crosstalk's kernel module (/dev/crosstalk), shared by the module and the C
 * library's module backend (bpf/kmod.c). Documented in kmod/README.md.
 *
 * Every ioctl argument starts with struct ctk_head: size is sizeof the structure the
 * caller was built with and version CTK_ABI_VERSION. The module refuses a command whose
 * encoded size, head.size or head.version differs from its own (-EINVAL, -EINVAL,
 * -EPROTO): a library and a module of different builds fail loudly, never misread.
 * Records reuse the eBPF probes' structures (bpf/cpu.h, bpf/io.h, bpf/lifecycle.h,
 * bpf/memory.h), so both backends share the run-segment ring bound, the io probe's owner
 * slots and every counter's meaning. */
#ifndef CROSSTALK_KMOD_H
#define CROSSTALK_KMOD_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include "cpu.h"
#include "io.h"
#include "lifecycle.h"
#include "memory.h"

#define CTK_ABI_VERSION 2
#define CTK_DEVICE_NAME "crosstalk"

struct ctk_head {
	__u32 size;
	__u32 version;
};

/* Probes the module offers (struct ctk_info.probes, struct ctk_enable.probes). */
#define CTK_PROBE_CPU (1u << 0)       /* sched_switch, sched_wakeup, sched_wakeup_new */
#define CTK_PROBE_LIFECYCLE (1u << 1) /* cgroup_mkdir, cgroup_rmdir */
#define CTK_PROBE_MEMORY (1u << 2)    /* mm_vmscan_direct_reclaim_*, mm_vmscan_memcg_reclaim_* */
#define CTK_PROBE_IO (1u << 3)        /* block_rq_insert/issue/complete (+ merge, requeue) */

struct ctk_info {
	struct ctk_head head;
	__u32 probes;        /* out: CTK_PROBE_* whose tracepoints this kernel has */
	__u32 ncpus;         /* out: nr_cpu_ids (records carry a cpu below it) */
	__u32 max_targets;   /* out */
	__u32 cgroup_slots;  /* out: per-CPU table sizes; a full table counts map_full */
	__u32 victim_slots;
	__u32 pair_slots;
	__u32 event_slots;   /* out: per-CPU event ring */
	__u32 reclaim_slots;
	__u32 memcg;         /* out: 1 when the memcg reclaim tracepoints exist too */
	__u32 io_stats_slots; /* out: per-CPU io table sizes */
	__u32 io_latency_slots;
	__u32 io_delay_slots;
	__u32 io_devices;    /* out: devices whose owners in flight are followed at once */
	__u32 io_requests;   /* out: requests followed in flight at once */
};

/* Registers the tracepoints of the probes named (once each); counters run from the
 * first enable of the open file and are reset when it is closed. */
#define CTK_ENABLE_RUNQ_EVENTS (1u << 0) /* slow run-queue wait records in the stream */

struct ctk_enable {
	struct ctk_head head;
	__u32 probes;
	__u32 flags;         /* CTK_ENABLE_* */
	__u64 runq_slow_ns;  /* with CTK_ENABLE_RUNQ_EVENTS */
	__u64 reclaim_slow_ns; /* memory: victims' reclaim stalls this long are events */
	__u64 io_slow_ns;    /* io: victims' requests this long (insert or issue to completion)
			      * are events */
};

/* Replaces the victim set (unified cgroup ids). */
#define CTK_TARGETS_ALL (1u << 0) /* every cgroup is a victim; ids ignored */

struct ctk_targets {
	struct ctk_head head;
	__u32 count;         /* at most ctk_info.max_targets */
	__u32 flags;         /* CTK_TARGETS_* */
	__u64 ids;           /* user pointer to count __u64 */
};

/* Per-CPU tables, read as records of one CPU each (user space sums them). */
enum ctk_table_kind {
	CTK_TABLE_CGROUPS = 1, /* struct ctk_cgroup_record */
	CTK_TABLE_VICTIMS = 2, /* struct ctk_victim_record */
	CTK_TABLE_PAIRS = 3,   /* struct ctk_pair_record */
	CTK_TABLE_RECLAIM = 4, /* struct ctk_reclaim_record */
	CTK_TABLE_IO_STATS = 5,   /* struct ctk_io_stats_record */
	CTK_TABLE_IO_LATENCY = 6, /* struct ctk_io_latency_record */
	CTK_TABLE_IO_DELAYS = 7,  /* struct ctk_io_delay_record */
};

struct ctk_read {
	struct ctk_head head;
	__u32 table;         /* enum ctk_table_kind */
	__u32 count;         /* out: records written */
	__u64 buf;           /* user pointer */
	__u64 len;           /* bytes at buf */
	__u64 needed;        /* out: records the table holds; -ENOSPC when they do not fit */
	__u64 at_ns;         /* CTK_TABLE_CGROUPS: the segment running on each CPU is credited
			      * to its cgroup up to this time (CLOCK_MONOTONIC), as the eBPF
			      * backend's read does */
};

struct ctk_cgroup_record {
	__u64 id;
	__u32 cpu;
	__u32 reserved;
	struct ct_cpu_cgroup v;
};

struct ctk_victim_record {
	__u64 id;
	__u32 cpu;
	__u32 reserved;
	struct ct_runq_victim v;
};

struct ctk_pair_record {
	struct ct_pair_key key;
	__u32 cpu;
	__u32 reserved;
	__u64 wait_ns;
};

struct ctk_reclaim_record {
	__u64 id;
	__u32 cpu;
	__u32 reserved;
	struct ct_reclaim_stats v;
};

/* Every record is its table slot's keys (__u64 each), the CPU, then the slot's value. The
 * io tables lead with a word that is never 0 (a table's empty slot), so that owner 0 (a
 * request without a bio, e.g. a flush) can be a key too: struct ct_io_key's disk, op
 * and sync flag, packed. */
#define CTK_IO_CLASS(dev, op, sync) ((1ULL << 63) | (__u64)(dev) << 16 | (__u64)(op) << 8 | (__u64)(sync))
#define CTK_IO_CLASS_DEV(c) ((__u32)((c) >> 16))
#define CTK_IO_CLASS_OP(c) ((__u8)((c) >> 8))
#define CTK_IO_CLASS_SYNC(c) ((__u8)(c))

struct ctk_io_stats_record {
	__u64 io_class;      /* CTK_IO_CLASS(dev, op, sync) */
	__u64 cgroup;        /* the owner: the bio's blkcg (unified id) */
	__u32 cpu;
	__u32 reserved;
	struct ct_io_stats v;
};

struct ctk_io_latency_record {
	__u64 io_class;
	__u64 cgroup;        /* a victim owner */
	__u32 cpu;
	__u32 reserved;
	struct ct_io_latency v;
};

struct ctk_io_delay_record {
	__u64 io_class;      /* CTK_IO_CLASS(dev, 0, 0) */
	__u64 victim;
	__u64 holder;        /* 0: no owner (e.g. a flush) */
	__u32 cpu;
	__u32 reserved;
	struct ct_io_delay v;
};

/* Deletes every entry naming one of the cgroups (dead ones, once reported). */
struct ctk_forget {
	struct ctk_head head;
	__u32 count;
	__u32 reserved;
	__u64 ids;           /* user pointer to count __u64 */
};

/* Kernel-side failures and, while the module parameter stats=1, the time spent in the
 * probes (the counterpart of kernel.bpf_stats_enabled). */
enum ctk_hook {
	CTK_HOOK_SWITCH = 0,
	CTK_HOOK_WAKEUP = 1,  /* sched_wakeup and sched_wakeup_new */
	CTK_HOOK_CGROUP = 2,  /* cgroup_mkdir and cgroup_rmdir */
	CTK_HOOK_RECLAIM = 3, /* the vmscan reclaim begin and end tracepoints */
	CTK_HOOK_IO = 4,      /* the block_rq tracepoints */
	CTK_HOOKS = 5,
};

struct ctk_stats {
	struct ctk_head head;
	struct ct_health cpu;       /* out */
	struct ct_health lifecycle; /* out */
	struct ct_health memory;    /* out */
	struct ct_health io;        /* out */
	__u64 run_ns[CTK_HOOKS];    /* out */
	__u64 run_count[CTK_HOOKS]; /* out */
};

/* read() returns whole events, oldest first, and never blocks (0: none pending). */
enum ctk_event_kind {
	CTK_EVENT_CGROUP = 1, /* cgroup */
	CTK_EVENT_RUNQ = 2,   /* runq */
	CTK_EVENT_RECLAIM = 3, /* reclaim (stack_id: -EOPNOTSUPP, no stacks) */
	CTK_EVENT_IO = 4,     /* io (stack_id: -EOPNOTSUPP, no stacks) */
};

struct ctk_event {
	__u32 kind;
	__u32 reserved;
	union {
		__u64 time_ns; /* every record starts with it */
		struct ct_cgroup_event cgroup;
		struct ct_runq_event runq;
		struct ct_reclaim_event reclaim;
		struct ct_io_event io;
	};
};

#define CTK_IOC_MAGIC 0xC7
#define CTK_IOC_INFO _IOWR(CTK_IOC_MAGIC, 1, struct ctk_info)
#define CTK_IOC_ENABLE _IOW(CTK_IOC_MAGIC, 2, struct ctk_enable)
#define CTK_IOC_TARGETS _IOW(CTK_IOC_MAGIC, 3, struct ctk_targets)
#define CTK_IOC_READ _IOWR(CTK_IOC_MAGIC, 4, struct ctk_read)
#define CTK_IOC_FORGET _IOW(CTK_IOC_MAGIC, 5, struct ctk_forget)
#define CTK_IOC_STATS _IOWR(CTK_IOC_MAGIC, 6, struct ctk_stats)

#endif

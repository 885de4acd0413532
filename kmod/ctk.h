/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of crosstalk's kernel module, shared by its files:
 *   main.c    the character device: open, ioctls, read, release, module init/exit
 *   sched.c   the cpu probe (sched_switch, sched_wakeup[_new]) and its table reads
 *   events.c  the per-CPU event rings, the lifecycle probe and the read() stream
 *   memory.c  the memory probe (vmscan direct and memcg reclaim begin/end)
 *   io.c      the io probe (block_rq_insert/issue/complete/merge/requeue)
 *   tables.c  per-CPU open-addressing tables, their reads, and the victim set
 * Probes never allocate: each CPU writes only its own tables and ring with interrupts
 * off (an io completion may come in an interrupt), victims are an RCU-published array,
 * and enqueue stamps one global slot per pid. Only the io probe locks: requests in
 * flight and each device's owner clocks are shared by every CPU (io.c). */
#ifndef CTK_H
#define CTK_H

#include <linux/bitops.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>
#include <linux/tracepoint.h>
#include <linux/types.h>
#include "crosstalk-kmod.h"
#include "targets.h"

/* Per-CPU table sizes (powers of two). */
#define CTK_CGROUP_BITS 12
#define CTK_VICTIM_BITS 10
#define CTK_PAIR_BITS 13
#define CTK_RECLAIM_BITS 10
#define CTK_IO_STATS_BITS 12
#define CTK_IO_LATENCY_BITS 9
#define CTK_IO_DELAY_BITS 12
/* The io probe's devices followed at once, and its requests in flight: shards of slots,
 * each filled to 3/4 at most (io.c). */
#define CTK_IO_DEVICE_BITS 6
#define CTK_IO_DEVICES (1u << CTK_IO_DEVICE_BITS)
#define CTK_IO_SHARD_BITS 6
#define CTK_IO_SHARD_SLOT_BITS 8
#define CTK_IO_REQUESTS ((3u << (CTK_IO_SHARD_BITS + CTK_IO_SHARD_SLOT_BITS)) / 4)
#define CTK_EVENT_SLOTS 256
/* Slots probed before a table counts as full for a key. */
#define CTK_PROBE_LIMIT 32
/* A key of a deleted slot: probing continues past it, an insert may reuse it. */
#define CTK_DELETED (~0ULL)

/* Table slots: the key first (tables.c relies on it), then the eBPF probe's value. */
struct ctk_cgroup_slot {
	u64 id;
	struct ct_cpu_cgroup v;
};

struct ctk_victim_slot {
	u64 id;
	struct ct_runq_victim v;
};

struct ctk_pair_slot {
	struct ct_pair_key key;
	u64 wait_ns;
};

struct ctk_reclaim_slot {
	u64 id;
	struct ct_reclaim_stats v;
};

struct ctk_io_stats_slot {
	u64 io_class; /* CTK_IO_CLASS(dev, op, sync) */
	u64 cgroup;
	struct ct_io_stats v;
};

struct ctk_io_latency_slot {
	u64 io_class;
	u64 cgroup;
	struct ct_io_latency v;
};

struct ctk_io_delay_slot {
	u64 io_class; /* CTK_IO_CLASS(dev, 0, 0) */
	u64 victim;
	u64 holder;
	struct ct_io_delay v;
};

/* Slots of stride bytes, each starting with its nkey u64 keys, the first never 0 (an
 * empty slot) nor CTK_DELETED; ids: a bit per key that is a cgroup id (forget). */
struct ctk_table {
	void *base;
	u32 stride;
	u32 mask;
	u32 nkey;
	u32 ids;
};

struct ctk_ring {
	u64 head; /* written by this CPU's probes */
	u64 tail; /* written by the reader */
	struct ctk_event slot[CTK_EVENT_SLOTS];
};

/* One CPU's state: the run segment in progress, the ring of finished ones (the eBPF
 * probe's struct ct_cpu_state without its seq), its tables, events and counters. */
struct ctk_cpu {
	seqcount_t seq; /* odd while sched_switch updates the segment and on-CPU time */
	u64 last_switch;
	u64 running_cgroup;
	u64 head;
	struct ct_run_segment ring[CT_RUN_RING];
	struct ctk_table cgroups, victims, pairs;
	struct ctk_table reclaim; /* written by the memory probe */
	struct ctk_table io_stats, io_latency, io_delays; /* written by the io probe */
	struct ctk_ring *events;
	struct ct_health cpu_health, lifecycle_health, memory_health, io_health;
	u64 run_ns[CTK_HOOKS], run_count[CTK_HOOKS];
};

/* The victim set, replaced whole (RCU). */
struct ctk_targets_set {
	struct rcu_head rcu;
	bool all;
	u32 count;
	u64 bits[CT_TARGET_BITS / 64]; /* hashed ids, as the eBPF filter (targets.h) */
	u64 ids[];                     /* sorted */
};

extern struct ctk_cpu __percpu *ctk_cpus;
extern bool ctk_stats_enabled;

/* tables.c */
int ctk_tables_alloc(void);
void ctk_tables_free(void);
/* Zeroes every CPU's state (no probe may be registered). */
void ctk_tables_reset(void);
/* The slot of key (t->nkey words) in t, created zeroed when absent; NULL when full. */
void *ctk_table_get(struct ctk_table *t, const u64 *key);
/* Marks deleted every slot whose keys name one of ids (sorted here); on each CPU with
 * interrupts off, so never beside that CPU's probes. */
void ctk_tables_forget(u64 *ids, u32 count);
bool ctk_is_target(u64 cgroup);
bool ctk_maybe_target(u64 cgroup);
int ctk_targets_set(const u64 __user *ids, u32 count, bool all);
void ctk_targets_free(void);
bool ctk_ids_contain(const u64 *ids, u32 count, u64 id);

/* Copies one table's records of every CPU into the user buffer (r->needed: how many
 * there are); -ENOSPC when they do not fit. */
long ctk_tables_read(struct ctk_read *r);
/* Copies the live slots of one CPU's table as records (keys, cpu, value: t->stride + 8
 * bytes each); returns how many. */
u32 ctk_table_copy(const struct ctk_table *t, int cpu, void *out);

/* sched.c */
int ctk_sched_find(void);
int ctk_sched_register(bool runq_events, u64 runq_slow_ns);
void ctk_sched_unregister(void);
int ctk_stamps_alloc(void);
void ctk_stamps_free(void);
/* Forgets every enqueue stamp (no probe may be registered). */
void ctk_stamps_clear(void);
/* The cgroups table of one CPU with its running segment credited up to at_ns. */
u32 ctk_sched_copy_cgroups(struct ctk_cpu *c, int cpu, struct ctk_cgroup_record *out, u64 at_ns);

/* memory.c */
/* 0 when the direct reclaim tracepoints exist; *memcg: the memcg ones too. */
int ctk_memory_find(bool *memcg);
int ctk_memory_register(u64 slow_ns);
void ctk_memory_unregister(void);
int ctk_reclaim_starts_alloc(void);
void ctk_reclaim_starts_free(void);
/* Forgets every reclaim begin time (no probe may be registered). */
void ctk_reclaim_starts_clear(void);
/* The unified-hierarchy id of the task's cgroup (its directory's inode number). */
u64 ctk_task_cgroup_id(struct task_struct *t);

/* io.c: built for kernels from 6.0 (blk_opf_t, bio_blkcg_css()); older ones have no
 * io probe. */
int ctk_io_find(void);
int ctk_io_alloc(void);
void ctk_io_free(void);
int ctk_io_register(u64 slow_ns);
void ctk_io_unregister(void);
/* Forgets every request in flight and every device's owners (no probe registered). */
void ctk_io_clear(void);

/* events.c */
int ctk_lifecycle_find(void);
int ctk_lifecycle_register(void);
void ctk_lifecycle_unregister(void);
/* Appends an event to this CPU's ring (interrupts off from reserve to commit: an io
 * completion may interrupt any producer); NULL when it is full. */
struct ctk_event *ctk_event_reserve(struct ctk_cpu *c);
void ctk_event_commit(struct ctk_cpu *c);
ssize_t ctk_events_read(char __user *buf, size_t len);

/* Finds a tracepoint by name (its __tracepoint_* symbol is not exported). */
struct tracepoint *ctk_tracepoint(const char *name);

/* The log2 histogram slot of a duration (common.h's layout). */
static inline u32 ctk_hist_slot(u64 ns)
{
	u32 slot = fls64(ns / 1000);

	return slot < CT_HIST_SLOTS ? slot : CT_HIST_SLOTS - 1;
}

#endif

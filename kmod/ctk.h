/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of crosstalk's kernel module, shared by its files:
 *   main.c    the character device: open, ioctls, read, release, module init/exit
 *   sched.c   the cpu probe (sched_switch, sched_wakeup[_new]) and its table reads
 *   events.c  the per-CPU event rings, the lifecycle probe and the read() stream
 *   memory.c  the memory probe (vmscan direct and memcg reclaim begin/end)
 *   tables.c  per-CPU open-addressing tables, their reads, and the victim set
 * Probes never allocate or lock: each CPU writes only its own tables and ring with
 * preemption off (sched_switch also with interrupts off), victims are an RCU-published
 * array, and enqueue stamps one global slot per pid. */
#ifndef CTK_H
#define CTK_H

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

/* Slots of stride bytes, each starting with its key: one u64, or two for pairs. */
struct ctk_table {
	void *base;
	u32 stride;
	u32 mask;
	u32 nkey;
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
	struct ctk_table reclaim; /* written by the memory probe (preemption off) */
	struct ctk_ring *events;
	struct ct_health cpu_health, lifecycle_health, memory_health;
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
/* The slot of key in t, created zeroed when absent; NULL when full. */
void *ctk_table_get(struct ctk_table *t, u64 key0, u64 key1);
/* Marks deleted every slot whose keys name one of ids (sorted here); on each CPU with
 * interrupts off, so never beside that CPU's sched_switch. */
void ctk_tables_forget(u64 *ids, u32 count);
bool ctk_is_target(u64 cgroup);
bool ctk_maybe_target(u64 cgroup);
int ctk_targets_set(const u64 __user *ids, u32 count, bool all);
void ctk_targets_free(void);
bool ctk_ids_contain(const u64 *ids, u32 count, u64 id);

/* Copies one table's records of every CPU into the user buffer (r->needed: how many
 * there are); -ENOSPC when they do not fit. */
long ctk_tables_read(struct ctk_read *r);
/* Copies the live slots of one CPU's table as records (key, cpu, value); returns how many. */
u32 ctk_table_copy(const struct ctk_table *t, int cpu, void *out, size_t record_size);

/* sched.c */
int ctk_sched_find(void);
int ctk_sched_register(bool runq_events, u64 runq_slow_ns);
void ctk_sched_unregister(void);
int ctk_stamps_alloc(void);
void ctk_stamps_free(void);
/* The cgroups table of one CPU with its running segment credited up to at_ns. */
u32 ctk_sched_copy_cgroups(struct ctk_cpu *c, int cpu, struct ctk_cgroup_record *out, u64 at_ns);

/* memory.c */
/* 0 when the direct reclaim tracepoints exist; *memcg: the memcg ones too. */
int ctk_memory_find(bool *memcg);
int ctk_memory_register(u64 slow_ns);
void ctk_memory_unregister(void);
int ctk_reclaim_starts_alloc(void);
void ctk_reclaim_starts_free(void);
/* The unified-hierarchy id of the task's cgroup (its directory's inode number). */
u64 ctk_task_cgroup_id(struct task_struct *t);

/* events.c */
int ctk_lifecycle_find(void);
int ctk_lifecycle_register(void);
void ctk_lifecycle_unregister(void);
/* Appends an event to this CPU's ring (preemption off); false when it is full. */
struct ctk_event *ctk_event_reserve(struct ctk_cpu *c);
void ctk_event_commit(struct ctk_cpu *c);
ssize_t ctk_events_read(char __user *buf, size_t len);

/* Finds a tracepoint by name (its __tracepoint_* symbol is not exported). */
struct tracepoint *ctk_tracepoint(const char *name);

#endif

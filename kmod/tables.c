// SPDX-License-Identifier: GPL-2.0
/* Per-CPU accumulators and the victim set. Each CPU's tables are open-addressing arrays
 * written only by that CPU's probes with interrupts off (the cpu tables by sched_switch,
 * reclaim by the memory probe, the io tables by the io probe); a new slot's zeroed value
 * and other keys are written before its first key is published (release/acquire), for
 * readers on other CPUs. Deletion marks a slot CTK_DELETED in an IPI on the owning CPU (interrupts off), so it
 * never races that CPU's writers. Reads copy one CPU at a time into a bounce buffer,
 * then to user space. */
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include "ctk.h"

struct ctk_cpu __percpu *ctk_cpus;
static struct ctk_targets_set __rcu *targets;

static int table_alloc(struct ctk_table *t, int cpu, unsigned int bits, size_t stride, u32 nkey, u32 ids)
{
	t->base = kvzalloc_node(stride << bits, GFP_KERNEL, cpu_to_node(cpu));
	t->stride = stride;
	t->mask = (1u << bits) - 1;
	t->nkey = nkey;
	t->ids = ids;
	return t->base ? 0 : -ENOMEM;
}

/* A record is its slot's keys, the CPU (and a reserved word), then the slot's value. */
#define CHECK_RECORD(slot, record, nkey)                                                   \
	BUILD_BUG_ON(sizeof(struct record) != sizeof(struct slot) + 8 ||                   \
		     offsetof(struct record, cpu) != (nkey) * sizeof(u64) ||               \
		     offsetof(struct record, v) != offsetof(struct slot, v) + 8)

int ctk_tables_alloc(void)
{
	int cpu, err = 0;

	CHECK_RECORD(ctk_cgroup_slot, ctk_cgroup_record, 1);
	CHECK_RECORD(ctk_victim_slot, ctk_victim_record, 1);
	BUILD_BUG_ON(sizeof(struct ctk_pair_record) != sizeof(struct ctk_pair_slot) + 8 ||
		     offsetof(struct ctk_pair_record, wait_ns) != offsetof(struct ctk_pair_slot, wait_ns) + 8);
	CHECK_RECORD(ctk_reclaim_slot, ctk_reclaim_record, 1);
	CHECK_RECORD(ctk_io_stats_slot, ctk_io_stats_record, 2);
	CHECK_RECORD(ctk_io_latency_slot, ctk_io_latency_record, 2);
	CHECK_RECORD(ctk_io_delay_slot, ctk_io_delay_record, 3);
	ctk_cpus = alloc_percpu(struct ctk_cpu);
	if (!ctk_cpus)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ctk_cpu *c = per_cpu_ptr(ctk_cpus, cpu);

		seqcount_init(&c->seq);
		err = err ?: table_alloc(&c->cgroups, cpu, CTK_CGROUP_BITS, sizeof(struct ctk_cgroup_slot), 1, 1);
		err = err ?: table_alloc(&c->victims, cpu, CTK_VICTIM_BITS, sizeof(struct ctk_victim_slot), 1, 1);
		err = err ?: table_alloc(&c->pairs, cpu, CTK_PAIR_BITS, sizeof(struct ctk_pair_slot), 2, 3);
		err = err ?: table_alloc(&c->reclaim, cpu, CTK_RECLAIM_BITS, sizeof(struct ctk_reclaim_slot), 1, 1);
		err = err ?: table_alloc(&c->io_stats, cpu, CTK_IO_STATS_BITS, sizeof(struct ctk_io_stats_slot), 2, 2);
		err = err ?: table_alloc(&c->io_latency, cpu, CTK_IO_LATENCY_BITS, sizeof(struct ctk_io_latency_slot), 2,
					 2);
		err = err ?: table_alloc(&c->io_delays, cpu, CTK_IO_DELAY_BITS, sizeof(struct ctk_io_delay_slot), 3, 6);
		if (!err) {
			c->events = kvzalloc_node(sizeof(*c->events), GFP_KERNEL, cpu_to_node(cpu));
			err = c->events ? 0 : -ENOMEM;
		}
	}
	if (err)
		ctk_tables_free();
	return err;
}

void ctk_tables_free(void)
{
	int cpu;

	if (!ctk_cpus)
		return;
	for_each_possible_cpu(cpu) {
		struct ctk_cpu *c = per_cpu_ptr(ctk_cpus, cpu);

		kvfree(c->cgroups.base);
		kvfree(c->victims.base);
		kvfree(c->pairs.base);
		kvfree(c->reclaim.base);
		kvfree(c->io_stats.base);
		kvfree(c->io_latency.base);
		kvfree(c->io_delays.base);
		kvfree(c->events);
	}
	free_percpu(ctk_cpus);
	ctk_cpus = NULL;
}

static void table_clear(struct ctk_table *t)
{
	memset(t->base, 0, (size_t)t->stride * (t->mask + 1));
}

void ctk_tables_reset(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct ctk_cpu *c = per_cpu_ptr(ctk_cpus, cpu);

		table_clear(&c->cgroups);
		table_clear(&c->victims);
		table_clear(&c->pairs);
		table_clear(&c->reclaim);
		table_clear(&c->io_stats);
		table_clear(&c->io_latency);
		table_clear(&c->io_delays);
		c->last_switch = c->running_cgroup = c->head = 0;
		memset(c->ring, 0, sizeof(c->ring));
		c->events->head = c->events->tail = 0;
		memset(&c->cpu_health, 0, sizeof(c->cpu_health));
		memset(&c->lifecycle_health, 0, sizeof(c->lifecycle_health));
		memset(&c->memory_health, 0, sizeof(c->memory_health));
		memset(&c->io_health, 0, sizeof(c->io_health));
		memset(c->run_ns, 0, sizeof(c->run_ns));
		memset(c->run_count, 0, sizeof(c->run_count));
	}
}

static u32 key_hash(const struct ctk_table *t, const u64 *key)
{
	u64 h = key[0];
	u32 k;

	for (k = 1; k < t->nkey; k++)
		h = (h * 0x9E3779B97F4A7C15ULL) ^ key[k];
	return hash_64(h, 32) & t->mask;
}

static bool keys_equal(const struct ctk_table *t, const u64 *slot, const u64 *key)
{
	u32 k;

	for (k = 0; k < t->nkey; k++)
		if (slot[k] != key[k])
			return false;
	return true;
}

void *ctk_table_get(struct ctk_table *t, const u64 *key)
{
	u32 h = key_hash(t, key), i, k;
	u64 *free = NULL;

	for (i = 0; i < CTK_PROBE_LIMIT; i++) {
		u64 *slot = t->base + (size_t)((h + i) & t->mask) * t->stride;
		u64 id = slot[0];

		if (keys_equal(t, slot, key))
			return slot;
		if (id == CTK_DELETED) {
			free = free ?: slot;
			continue;
		}
		if (!id) {
			free = free ?: slot;
			break;
		}
	}
	if (!free)
		return NULL;
	memset(free + 1, 0, t->stride - sizeof(u64));
	for (k = 1; k < t->nkey; k++)
		WRITE_ONCE(free[k], key[k]);
	smp_store_release(&free[0], key[0]);
	return free;
}

u32 ctk_table_copy(const struct ctk_table *t, int cpu, void *out)
{
	size_t record_size = t->stride + 8;
	u32 i, k, n = 0;

	for (i = 0; i <= t->mask; i++) {
		const u64 *slot = t->base + (size_t)i * t->stride;
		u64 key = smp_load_acquire(&slot[0]);
		u64 *r = out + (size_t)n * record_size;

		if (!key || key == CTK_DELETED)
			continue;
		r[0] = key;
		for (k = 1; k < t->nkey; k++)
			r[k] = READ_ONCE(slot[k]);
		((u32 *)(r + t->nkey))[0] = cpu;
		((u32 *)(r + t->nkey))[1] = 0;
		memcpy(r + t->nkey + 1, slot + t->nkey, t->stride - t->nkey * sizeof(u64));
		n++;
	}
	return n;
}

/* The table of that kind on one CPU; NULL for an unknown kind. */
static const struct ctk_table *table_of(struct ctk_cpu *c, u32 table)
{
	switch (table) {
	case CTK_TABLE_CGROUPS:
		return &c->cgroups;
	case CTK_TABLE_VICTIMS:
		return &c->victims;
	case CTK_TABLE_PAIRS:
		return &c->pairs;
	case CTK_TABLE_RECLAIM:
		return &c->reclaim;
	case CTK_TABLE_IO_STATS:
		return &c->io_stats;
	case CTK_TABLE_IO_LATENCY:
		return &c->io_latency;
	case CTK_TABLE_IO_DELAYS:
		return &c->io_delays;
	default:
		return NULL;
	}
}

long ctk_tables_read(struct ctk_read *r)
{
	const struct ctk_table *t = table_of(raw_cpu_ptr(ctk_cpus), r->table);
	size_t record_size;
	u64 cap, n = 0;
	void *bounce;
	long err = 0;
	int cpu;

	if (!t)
		return -EINVAL;
	record_size = t->stride + 8;
	cap = r->len / record_size;
	/* One CPU's table, plus the credited running segment. */
	bounce = kvmalloc_array(t->mask + 2, record_size, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ctk_cpu *c = per_cpu_ptr(ctk_cpus, cpu);
		u32 k = r->table == CTK_TABLE_CGROUPS ? ctk_sched_copy_cgroups(c, cpu, bounce, r->at_ns)
						      : ctk_table_copy(table_of(c, r->table), cpu, bounce);

		if (n + k <= cap && copy_to_user(u64_to_user_ptr(r->buf + n * record_size), bounce, k * record_size)) {
			err = -EFAULT;
			break;
		}
		n += k;
	}
	kvfree(bounce);
	r->needed = n;
	r->count = n <= cap ? n : 0;
	return err ?: (n <= cap ? 0 : -ENOSPC);
}

bool ctk_ids_contain(const u64 *ids, u32 count, u64 id)
{
	u32 lo = 0, hi = count;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return true;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

struct forget_args {
	const u64 *ids;
	u32 count;
};

static void table_forget(struct ctk_table *t, const struct forget_args *a)
{
	u32 i, k;

	for (i = 0; i <= t->mask; i++) {
		u64 *slot = t->base + (size_t)i * t->stride;

		if (!slot[0] || slot[0] == CTK_DELETED)
			continue;
		for (k = 0; k < t->nkey; k++) {
			if ((t->ids & (1u << k)) && ctk_ids_contain(a->ids, a->count, slot[k])) {
				WRITE_ONCE(slot[0], CTK_DELETED);
				break;
			}
		}
	}
}

static void forget_on_cpu(void *info)
{
	struct ctk_cpu *c = this_cpu_ptr(ctk_cpus);

	table_forget(&c->cgroups, info);
	table_forget(&c->victims, info);
	table_forget(&c->pairs, info);
	table_forget(&c->reclaim, info);
	table_forget(&c->io_stats, info);
	table_forget(&c->io_latency, info);
	table_forget(&c->io_delays, info);
}

static int compare_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

void ctk_tables_forget(u64 *ids, u32 count)
{
	struct forget_args a = { ids, count };

	sort(ids, count, sizeof(u64), compare_u64, NULL);
	on_each_cpu(forget_on_cpu, &a, 1);
}

int ctk_targets_set(const u64 __user *ids, u32 count, bool all)
{
	struct ctk_targets_set *next, *prev;
	u32 i;

	if (count > CT_MAX_TARGETS)
		return -E2BIG;
	next = kzalloc(struct_size(next, ids, count), GFP_KERNEL);
	if (!next)
		return -ENOMEM;
	if (copy_from_user(next->ids, ids, count * sizeof(u64))) {
		kfree(next);
		return -EFAULT;
	}
	sort(next->ids, count, sizeof(u64), compare_u64, NULL);
	next->all = all;
	next->count = count;
	for (i = 0; i < count; i++) {
		u32 bit = ct_target_bit(next->ids[i]);

		next->bits[bit / 64] |= 1ULL << (bit % 64);
	}
	prev = rcu_replace_pointer(targets, next, true);
	if (prev)
		kfree_rcu(prev, rcu);
	return 0;
}

void ctk_targets_free(void)
{
	struct ctk_targets_set *prev = rcu_replace_pointer(targets, NULL, true);

	synchronize_rcu();
	kfree(prev);
}

/* Both run inside a probe: preemption is off, which is an RCU read-side section. */
bool ctk_maybe_target(u64 cgroup)
{
	const struct ctk_targets_set *t = rcu_dereference_sched(targets);
	u32 bit = ct_target_bit(cgroup);

	return t && (t->all || (t->bits[bit / 64] & (1ULL << (bit % 64))));
}

bool ctk_is_target(u64 cgroup)
{
	const struct ctk_targets_set *t = rcu_dereference_sched(targets);

	return t && (t->all || ctk_ids_contain(t->ids, t->count, cgroup));
}

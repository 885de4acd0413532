// SPDX-License-Identifier: GPL-2.0
/* Per-CPU accumulators and the victim set. Each CPU's tables are open-addressing arrays
 * written only by that CPU's sched_switch (interrupts off); readers on other CPUs see a
 * slot's key published after its zeroed value (release/acquire); the reclaim table is
 * written by that CPU's memory probe. Deletion marks a slot CTK_DELETED in an IPI on the
 * owning CPU (interrupts off), so it never races that CPU's writers. Reads copy one
 * CPU at a time into a bounce buffer, then to user space. */
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

static int table_alloc(struct ctk_table *t, int cpu, unsigned int bits, size_t stride, u32 nkey)
{
	t->base = kvzalloc_node(stride << bits, GFP_KERNEL, cpu_to_node(cpu));
	t->stride = stride;
	t->mask = (1u << bits) - 1;
	t->nkey = nkey;
	return t->base ? 0 : -ENOMEM;
}

int ctk_tables_alloc(void)
{
	int cpu, err = 0;

	ctk_cpus = alloc_percpu(struct ctk_cpu);
	if (!ctk_cpus)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ctk_cpu *c = per_cpu_ptr(ctk_cpus, cpu);

		seqcount_init(&c->seq);
		err = err ?: table_alloc(&c->cgroups, cpu, CTK_CGROUP_BITS, sizeof(struct ctk_cgroup_slot), 1);
		err = err ?: table_alloc(&c->victims, cpu, CTK_VICTIM_BITS, sizeof(struct ctk_victim_slot), 1);
		err = err ?: table_alloc(&c->pairs, cpu, CTK_PAIR_BITS, sizeof(struct ctk_pair_slot), 2);
		err = err ?: table_alloc(&c->reclaim, cpu, CTK_RECLAIM_BITS, sizeof(struct ctk_reclaim_slot), 1);
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
		c->last_switch = c->running_cgroup = c->head = 0;
		memset(c->ring, 0, sizeof(c->ring));
		c->events->head = c->events->tail = 0;
		memset(&c->cpu_health, 0, sizeof(c->cpu_health));
		memset(&c->lifecycle_health, 0, sizeof(c->lifecycle_health));
		memset(&c->memory_health, 0, sizeof(c->memory_health));
		memset(c->run_ns, 0, sizeof(c->run_ns));
		memset(c->run_count, 0, sizeof(c->run_count));
	}
}

static u32 key_hash(const struct ctk_table *t, u64 key0, u64 key1)
{
	return hash_64(key0 ^ (key1 * 0x9E3779B97F4A7C15ULL), 32) & t->mask;
}

void *ctk_table_get(struct ctk_table *t, u64 key0, u64 key1)
{
	u32 h = key_hash(t, key0, key1), i;
	u64 *free = NULL;

	for (i = 0; i < CTK_PROBE_LIMIT; i++) {
		u64 *slot = t->base + (size_t)((h + i) & t->mask) * t->stride;
		u64 id = slot[0];

		if (id == key0 && (t->nkey == 1 || slot[1] == key1))
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
	if (t->nkey == 2)
		WRITE_ONCE(free[1], key1);
	smp_store_release(&free[0], key0);
	return free;
}

u32 ctk_table_copy(const struct ctk_table *t, int cpu, void *out, size_t record_size)
{
	u32 i, n = 0;

	for (i = 0; i <= t->mask; i++) {
		const u64 *slot = t->base + (size_t)i * t->stride;
		u64 key = smp_load_acquire(&slot[0]);
		u64 *r = out + (size_t)n * record_size;

		if (!key || key == CTK_DELETED)
			continue;
		memset(r, 0, record_size);
		r[0] = key;
		if (t->nkey == 2) { /* struct ctk_pair_record: key, cpu, value */
			r[1] = READ_ONCE(slot[1]);
			((struct ctk_pair_record *)r)->cpu = cpu;
			((struct ctk_pair_record *)r)->wait_ns = READ_ONCE(slot[2]);
		} else { /* ctk_cgroup_record, ctk_victim_record, ctk_reclaim_record: key, cpu, value */
			((u32 *)r)[2] = cpu;
			memcpy(r + 2, slot + 1, t->stride - sizeof(u64));
		}
		n++;
	}
	return n;
}

/* The table of that kind on one CPU. */
static const struct ctk_table *table_of(struct ctk_cpu *c, u32 table)
{
	switch (table) {
	case CTK_TABLE_CGROUPS:
		return &c->cgroups;
	case CTK_TABLE_VICTIMS:
		return &c->victims;
	case CTK_TABLE_PAIRS:
		return &c->pairs;
	default:
		return &c->reclaim;
	}
}

long ctk_tables_read(struct ctk_read *r)
{
	size_t record_size;
	u64 cap, n = 0;
	void *bounce;
	long err = 0;
	int cpu;

	switch (r->table) {
	case CTK_TABLE_CGROUPS:
		record_size = sizeof(struct ctk_cgroup_record);
		break;
	case CTK_TABLE_VICTIMS:
		record_size = sizeof(struct ctk_victim_record);
		break;
	case CTK_TABLE_PAIRS:
		record_size = sizeof(struct ctk_pair_record);
		break;
	case CTK_TABLE_RECLAIM:
		record_size = sizeof(struct ctk_reclaim_record);
		break;
	default:
		return -EINVAL;
	}
	cap = r->len / record_size;
	/* One CPU's table, plus the credited running segment. */
	bounce = kvmalloc_array(table_of(raw_cpu_ptr(ctk_cpus), r->table)->mask + 2, record_size, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ctk_cpu *c = per_cpu_ptr(ctk_cpus, cpu);
		u32 k = r->table == CTK_TABLE_CGROUPS ? ctk_sched_copy_cgroups(c, cpu, bounce, r->at_ns)
						      : ctk_table_copy(table_of(c, r->table), cpu, bounce, record_size);

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
	u32 i;

	for (i = 0; i <= t->mask; i++) {
		u64 *slot = t->base + (size_t)i * t->stride;

		if (!slot[0] || slot[0] == CTK_DELETED)
			continue;
		if (ctk_ids_contain(a->ids, a->count, slot[0]) ||
		    (t->nkey == 2 && ctk_ids_contain(a->ids, a->count, slot[1])))
			WRITE_ONCE(slot[0], CTK_DELETED);
	}
}

static void forget_on_cpu(void *info)
{
	struct ctk_cpu *c = this_cpu_ptr(ctk_cpus);

	table_forget(&c->cgroups, info);
	table_forget(&c->victims, info);
	table_forget(&c->pairs, info);
	table_forget(&c->reclaim, info);
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

// SPDX-License-Identifier: GPL-2.0
/* Per-CPU accumulators and the victim set. Each CPU's tables are open-addressing arrays
 * written only by that CPU's sched_switch (interrupts off); readers on other CPUs see a
 * slot's key published after its zeroed value (release/acquire). Deletion marks a slot
 * CTK_DELETED in an IPI on the owning CPU, so it never races that CPU's writer. */
#include <linux/bsearch.h>
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
		c->last_switch = c->running_cgroup = c->head = 0;
		memset(c->ring, 0, sizeof(c->ring));
		c->events->head = c->events->tail = 0;
		memset(&c->cpu_health, 0, sizeof(c->cpu_health));
		memset(&c->lifecycle_health, 0, sizeof(c->lifecycle_health));
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

/* Kernel layout differences, resolved by CO-RE at load time. Each block names the
 * kernel change behind it. The *_btf variants read through BTF-typed pointers
 * (tp_btf programs: plain loads); the *_core variants use probe reads (raw_tp). */
#ifndef CROSSTALK_CORE_FIXES_BPF_H
#define CROSSTALK_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* task_struct::state became __state in 5.14 (commit 2f064a59a11f). */
struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

/* A task is runnable (TASK_RUNNING) when its state is 0. */
static __always_inline bool task_running_btf(struct task_struct *t)
{
	if (bpf_core_field_exists(((struct task_struct___x *)t)->__state))
		return ((struct task_struct___x *)t)->__state == 0;
	return ((struct task_struct___o *)t)->state == 0;
}

static __always_inline bool task_running_core(struct task_struct *t)
{
	if (bpf_core_field_exists(((struct task_struct___x *)t)->__state))
		return BPF_CORE_READ((struct task_struct___x *)t, __state) == 0;
	return BPF_CORE_READ((struct task_struct___o *)t, state) == 0;
}

/* A task whose cgroup (or an ancestor) is throttled by its CPU quota: it leaves the CPU
 * runnable, and its wait until the quota refills is its own limit's doing, not a
 * neighbour's. sched_entity::cfs_rq needs CONFIG_FAIR_GROUP_SCHED, cfs_rq::throttle_count
 * CONFIG_CFS_BANDWIDTH; without them nothing is throttled. */
static __always_inline bool task_throttled_btf(struct task_struct *t)
{
	struct cfs_rq *cfs_rq;

	if (!bpf_core_field_exists(t->se.cfs_rq) || !bpf_core_field_exists(((struct cfs_rq *)0)->throttle_count))
		return false;
	cfs_rq = t->se.cfs_rq;
	return cfs_rq && cfs_rq->throttle_count > 0;
}

static __always_inline bool task_throttled_core(struct task_struct *t)
{
	struct cfs_rq *cfs_rq;

	if (!bpf_core_field_exists(t->se.cfs_rq) || !bpf_core_field_exists(((struct cfs_rq *)0)->throttle_count))
		return false;
	cfs_rq = BPF_CORE_READ(t, se.cfs_rq);
	return cfs_rq && BPF_CORE_READ(cfs_rq, throttle_count) > 0;
}

/* request::rq_disk was removed in 5.17 (commit f3fa33acca9f); the disk is rq->q->disk. */
struct request___x {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* Device number of the request's disk, in the kernel's encoding (major << 20 | minor). */
static __always_inline __u32 rq_dev_btf(struct request *rq)
{
	struct gendisk *disk;

	if (bpf_core_field_exists(((struct request___x *)rq)->rq_disk))
		disk = ((struct request___x *)rq)->rq_disk;
	else
		disk = rq->q->disk;
	return disk ? ((__u32)disk->major << 20) | (__u32)disk->first_minor : 0;
}

static __always_inline __u32 rq_dev_core(struct request *rq)
{
	struct gendisk *disk;

	if (bpf_core_field_exists(((struct request___x *)rq)->rq_disk))
		disk = BPF_CORE_READ((struct request___x *)rq, rq_disk);
	else
		disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
}

/* bio::bi_blkg exists only with CONFIG_BLK_CGROUP. The owner of an IO is the bio's
 * blkcg (which is how writeback by a kworker is charged to the dirtying cgroup where
 * the kernel supports it); 0 when unknown. */
static __always_inline __u64 rq_owner_btf(struct request *rq)
{
	struct bio *bio = rq->bio;

	if (!bio || !bpf_core_field_exists(bio->bi_blkg) || !bio->bi_blkg)
		return 0;
	return bio->bi_blkg->blkcg->css.cgroup->kn->id;
}

static __always_inline __u64 rq_owner_core(struct request *rq)
{
	struct blkcg_gq *blkg;

	if (!bpf_core_field_exists(((struct bio *)0)->bi_blkg))
		return 0;
	blkg = BPF_CORE_READ(rq, bio, bi_blkg);
	return blkg ? BPF_CORE_READ(blkg, blkcg, css.cgroup, kn, id) : 0;
}

#endif

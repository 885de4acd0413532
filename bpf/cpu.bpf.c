// SPDX-License-Identifier: GPL-2.0
/* cpu probe: who held the CPU while victims waited.
 *
 * Every sched_switch closes a run segment (start, end, cgroup of the task leaving) in
 * a per-CPU ring and adds its length to that cgroup's on-CPU time, for every cgroup.
 * Tasks of victim (target) cgroups are stamped when they enter the run queue: at
 * wakeup, and at a sched_switch that leaves them runnable (preemption: those waits are
 * exactly the ones a neighbour causes), unless their own CPU quota throttled them. When a stamped task is switched in, its wait
 * [t0, now] is histogrammed and split among the cgroups of the ring's segments that
 * overlap it; whatever the ring no longer covers is counted as unattributed.
 *
 * Everything is keyed by the cgroup of the task the event is about (prev, next,
 * wakee), never the current task's. The idle task (pid 0) is never a subject.
 *
 * A task of the root cgroup holds the CPU as itself (its thread), except while a kernel
 * thread writes back dirty pages (tp_btf only): then it works for the cgroup that dirtied
 * them, and the segment is charged to that cgroup, marked as writeback. On cgroup v2 the
 * kernel says whose pages they are (the writeback's wb is the dirtier's); on v1 blkio it
 * does not, and the probe remembers who last dirtied each inode.
 *
 * Node-local tools (crosstalk runq-snoop, top) make every cgroup a victim
 * (targets.bpf.h) and may ask for a record of each wait above a threshold, with the
 * cgroups that held the CPU meanwhile: read-only data set before load, so the agent's
 * programs are verified without those paths. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cpu.h"
#include "cgroup.bpf.h"
#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"
#include "targets.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_cpu_state);
} cpu_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct ct_cpu_cgroup);
} cpu_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CT_MAX_TARGETS);
	__type(key, __u64);
	__type(value, struct ct_runq_victim);
} runq_victims SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CT_MAX_PAIRS);
	__type(key, struct ct_pair_key);
	__type(value, __u64);
} wait_pairs SEC(".maps");

/* When each victim task entered the run queue. Task storage (tp_btf) needs no pid
 * hash: no size limit, no pid reuse, freed with the task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} enqueued_at SEC(".maps");

/* raw_tp fallback: its task pointers are not BTF-typed, so task storage cannot take
 * them; an LRU hash by pid instead (user space creates only one of the two maps). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} enqueued_at_by_pid SEC(".maps");

/* The cgroup a root-cgroup thread writes back for (see root_holder_btf). */
struct writeback_work {
	__u64 owner;            /* unified cgroup id; 0: none */
	__u64 writing;          /* inside writeback_single_inode_start .. writeback_single_inode */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct writeback_work);
} writing_back SEC(".maps");

/* CT_WRITEBACK_OWNERS_DIRTIER: the unified cgroup of the task that dirtied an inode's
 * pages last, by inode address (user space creates it on such hosts only). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} inode_dirtiers SEC(".maps");

/* Slow-wait records (runq_events); user space shrinks it to one page when they are off. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} slow_waits SEC(".maps");

/* Set by user space before load. */
const volatile bool runq_events = false;
const volatile __u64 runq_slow_ns = 10 * 1000 * 1000;
const volatile __u32 writeback_owners = CT_WRITEBACK_OWNERS_OFF;

struct ct_health health = {};

/* The enqueue stamp of a task, created when asked; NULL when absent. */
static __always_inline __u64 *stamp_of(struct task_struct *t, __u32 pid, bool create, bool btf)
{
	__u64 zero = 0, *stamp;

	if (btf) {
		stamp = bpf_task_storage_get(&enqueued_at, t, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	} else {
		stamp = bpf_map_lookup_elem(&enqueued_at_by_pid, &pid);
		if (!stamp && create) {
			bpf_map_update_elem(&enqueued_at_by_pid, &pid, &zero, BPF_NOEXIST);
			stamp = bpf_map_lookup_elem(&enqueued_at_by_pid, &pid);
		}
	}
	if (!stamp && create)
		__sync_fetch_and_add(&health.read_errors, 1);
	return stamp;
}

static __always_inline void stamp_enqueue(struct task_struct *t, __u32 pid, __u64 now, bool btf)
{
	__u64 *stamp = stamp_of(t, pid, true, btf);

	if (stamp)
		*stamp = now;
}

static __always_inline int on_wakeup(struct task_struct *p, __u32 pid, __u64 cgroup, bool btf)
{
	if (pid && is_target(cgroup))
		stamp_enqueue(p, pid, bpf_ktime_get_ns(), btf);
	return 0;
}

static __always_inline void add_oncpu(__u64 cgroup, __u64 ns, bool involuntary)
{
	static const struct ct_cpu_cgroup zero;
	struct ct_cpu_cgroup *c = lookup_or_init(&cpu_cgroups, &cgroup, &zero);

	if (!c) {
		__sync_fetch_and_add(&health.map_full, 1);
		return;
	}
	/* per-CPU values: plain adds */
	c->oncpu_ns += ns;
	c->slices++;
	if (involuntary)
		c->involuntary++;
}

/* Returns false when the pair map is full: that part of the wait is then counted as
 * unattributed, so the pairs and the unattributed part still add up to the wait and each
 * counted holder's share stays right. */
static __always_inline bool add_pair(__u64 victim, __u64 aggressor, __u64 ns)
{
	static const __u64 zero;
	struct ct_pair_key key = { .victim = victim, .aggressor = aggressor };
	__u64 *total = lookup_or_init(&wait_pairs, &key, &zero);

	if (!total) {
		__sync_fetch_and_add(&health.map_full, 1);
		return false;
	}
	*total += ns;
	return true;
}

/* Adds a holder's share to a slow-wait record: into its slot, a new slot, or the rest.
 * A global function, verified once on its own: inlined into the ring walk, its loop
 * multiplied the states 6.1's verifier explores past its million-instruction limit. */
__noinline int note_holder(struct ct_runq_event *e, __u64 cgroup, __u64 ns)
{
	if (!e)
		return 0;
	for (int i = 0; i < CT_RUNQ_HOLDERS; i++) {
		if (i == e->nholders) {
			e->holders[i].cgroup = cgroup;
			e->holders[i].ns = ns;
			e->nholders = i + 1;
			return 0;
		}
		if (e->holders[i].cgroup == cgroup) {
			e->holders[i].ns += ns;
			return 0;
		}
	}
	e->other_ns += ns;
	return 0;
}

/* Returns the part of ns that was attributed (0 when the pair map is full). */
static __always_inline __u64 add_share(__u64 victim, __u64 aggressor, __u64 ns, struct ct_runq_event *e)
{
	if (e)
		note_holder(e, aggressor, ns);
	return add_pair(victim, aggressor, ns) ? ns : 0;
}

/* Splits the wait [t0, now] among the cgroups of this CPU's ring, newest first,
 * merging consecutive segments of one cgroup into one map update (and into the
 * slow-wait record e, when there is one). Returns the part attributed: what the ring
 * covered (*ring_covered, which e's holders share) and the pair map could count. */
static __always_inline __u64 attribute_wait(struct ct_cpu_state *st, __u64 victim, __u64 t0, __u64 now,
					    struct ct_runq_event *e, __u64 *ring_covered)
{
	__u64 covered = 0, pending_cgroup = 0, pending_ns = 0;
	__u64 head = st->head;

	for (int i = 0; i < CT_RUN_RING; i++) {
		struct ct_run_segment *seg = &st->ring[(head - 1 - i) & (CT_RUN_RING - 1)];
		__u64 start = seg->start > t0 ? seg->start : t0;
		__u64 end = seg->end < now ? seg->end : now;

		if (seg->end <= t0) /* older than the wait (or an unused slot) */
			break;
		if (end > start) {
			if (pending_ns && seg->cgroup != pending_cgroup) {
				covered += add_share(victim, pending_cgroup, pending_ns, e);
				pending_ns = 0;
			}
			pending_cgroup = seg->cgroup;
			pending_ns += end - start;
			*ring_covered += end - start;
		}
		if (seg->start <= t0)
			break;
	}
	if (pending_ns)
		covered += add_share(victim, pending_cgroup, pending_ns, e);
	return covered;
}

/* Starts a slow-wait record in *e for the task switched in after waiting; NULL when
 * the wait is not slow or no records are asked for. The record is built on the stack
 * and copied out at the end: a reserved ring-buffer slot passed through the attribution
 * loop is a reference older verifiers (6.1) cannot follow. */
static __always_inline struct ct_runq_event *slow_wait(struct ct_runq_event *e, struct task_struct *next, __u32 pid,
						       __u64 cgroup, struct task_struct *prev, __u32 prev_pid,
						       __u64 prev_cgroup, __u64 wait, __u64 now)
{
	if (!runq_events || wait < runq_slow_ns)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->wait_ns = wait;
	e->cgroup_id = cgroup;
	e->prev_cgroup = prev_pid ? prev_cgroup : 0;
	e->pid = pid;
	e->cpu = bpf_get_smp_processor_id();
	e->prev_pid = prev_pid;
	bpf_probe_read_kernel(e->comm, sizeof(e->comm), next->comm);
	bpf_probe_read_kernel(e->prev_comm, sizeof(e->prev_comm), prev->comm);
	return e;
}

static __always_inline void measure_wait(struct ct_cpu_state *st, struct task_struct *next, __u32 pid,
					 __u64 cgroup, struct task_struct *prev, __u32 prev_pid, __u64 prev_cgroup,
					 __u64 now, bool btf)
{
	static const struct ct_runq_victim zero;
	struct ct_runq_victim *v;
	struct ct_runq_event record, *e;
	__u64 *stamp, t0, wait, covered, ring_covered = 0;

	if (!maybe_target(cgroup)) /* only victims' tasks are stamped */
		return;
	stamp = stamp_of(next, pid, false, btf);
	if (!stamp || !*stamp)
		return;
	t0 = *stamp;
	*stamp = 0;
	/* Drops waits of a cgroup removed from the targets while its tasks were queued. */
	if (now <= t0 || !is_target(cgroup))
		return;
	wait = now - t0;
	v = lookup_or_init(&runq_victims, &cgroup, &zero);
	if (!v) {
		__sync_fetch_and_add(&health.map_full, 1);
		return;
	}
	v->wait_ns += wait;
	v->waits++;
	v->hist[hist_slot_ns(wait)]++;
	e = slow_wait(&record, next, pid, cgroup, prev, prev_pid, prev_cgroup, wait, now);
	covered = attribute_wait(st, cgroup, t0, now, e, &ring_covered);
	v->unattributed_ns += wait - covered;
	if (e) {
		e->unattributed_ns = wait - ring_covered;
		if (bpf_ringbuf_output(&slow_waits, e, sizeof(*e), 0))
			__sync_fetch_and_add(&health.events_dropped, 1);
	}
}

/* The holder key of a root-cgroup thread's segment (tp_btf): the cgroup it wrote back for
 * in this segment, else the thread. A flusher yields between inodes, after the end
 * tracepoint, so the owner lasts until the segment in which its inode was finished
 * closes. Out of line: inlined, its branches cost the verifier more states. */
static __noinline __u64 root_holder_btf(struct task_struct *prev, __u32 prev_pid)
{
	struct writeback_work *w;
	__u64 owner;

	if (writeback_owners != CT_WRITEBACK_OWNERS_OFF) {
		w = bpf_task_storage_get(&writing_back, prev, 0, 0);
		if (w && w->owner) {
			owner = w->owner;
			if (!w->writing)
				w->owner = 0;
			return CT_HOLDER_WRITEBACK | owner;
		}
	}
	return CT_HOLDER_THREAD | prev_pid;
}

/* prev_requeued: prev stays on the run queue (preempted, or still TASK_RUNNING when
 * it yielded the CPU); the same test the kernel uses to count nivcsw. */
static __always_inline int on_switch(struct task_struct *prev, __u32 prev_pid, bool prev_requeued,
				     struct task_struct *next, __u32 next_pid, __u64 next_cgroup, bool btf)
{
	__u32 zero = 0;
	struct ct_cpu_state *st = bpf_map_lookup_elem(&cpu_state, &zero);
	__u64 now = bpf_ktime_get_ns();
	__u64 prev_cgroup;

	if (!st)
		return 0;
	st->seq++;
	barrier();
	/* The cgroup recorded when prev was switched in on this CPU. */
	prev_cgroup = st->running_cgroup;
	if (st->last_switch) {
		struct ct_run_segment *seg = &st->ring[st->head & (CT_RUN_RING - 1)];

		seg->start = st->last_switch;
		seg->end = now;
		seg->cgroup = prev_cgroup;
		if (prev_cgroup == CT_ROOT_CGROUP && prev_pid)
			seg->cgroup = btf ? root_holder_btf(prev, prev_pid) : CT_HOLDER_THREAD | prev_pid;
		st->head++;
		if (prev_pid)
			add_oncpu(prev_cgroup, now - st->last_switch, prev_requeued);
		/* A victim throttled by its own quota waits for its quota, not for anyone. */
		if (prev_pid && prev_requeued && is_target(prev_cgroup) &&
		    !(btf ? task_throttled_btf(prev) : task_throttled_core(prev)))
			stamp_enqueue(prev, prev_pid, now, btf);
	}
	st->last_switch = now;
	st->running_cgroup = next_pid ? next_cgroup : 0;
	barrier();
	st->seq++;
	if (next_pid)
		measure_wait(st, next, next_pid, next_cgroup, prev, prev_pid, prev_cgroup, now, btf);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(cpu_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 next_pid = next->pid;

	return on_switch(prev, prev->pid, preempt || task_running_btf(prev), next, next_pid,
			 next_pid ? task_cgroup_btf(next) : 0, true);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(cpu_wakeup_btf, struct task_struct *p)
{
	return on_wakeup(p, p->pid, task_cgroup_btf(p), true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(cpu_wakeup_new_btf, struct task_struct *p)
{
	return on_wakeup(p, p->pid, task_cgroup_btf(p), true);
}

/* The dirtier's cgroup of a cgroup-v2 writeback: the blkcg of its wb (the root wb, which
 * has none, writes back pages no cgroup owns). */
static __always_inline __u64 blkcg_owner(struct writeback_control *wbc)
{
	struct bdi_writeback *wb;
	struct cgroup_subsys_state *css;

	if (!bpf_core_field_exists(wbc->wb))
		return 0;
	wb = wbc->wb;
	css = wb ? wb->blkcg_css : NULL;
	return css ? css->cgroup->kn->id : 0;
}

static __always_inline __u64 inode_dirtier(struct inode *inode)
{
	__u64 key = (__u64)inode, *owner = bpf_map_lookup_elem(&inode_dirtiers, &key);

	return owner ? *owner : 0;
}

/* A root-cgroup thread starts writing back an inode: whose pages it writes. */
SEC("tp_btf/writeback_single_inode_start")
int BPF_PROG(cpu_writeback_start_btf, struct inode *inode, struct writeback_control *wbc, unsigned long nr_to_write)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct writeback_work *w;
	__u64 owner;

	if (task_cgroup_btf(t) != CT_ROOT_CGROUP)
		return 0;
	owner = writeback_owners == CT_WRITEBACK_OWNERS_BLKCG ? blkcg_owner(wbc) : inode_dirtier(inode);
	if (owner <= CT_ROOT_CGROUP)
		return 0;
	w = bpf_task_storage_get(&writing_back, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!w) {
		__sync_fetch_and_add(&health.read_errors, 1);
		return 0;
	}
	w->owner = owner;
	w->writing = 1;
	return 0;
}

SEC("tp_btf/writeback_single_inode")
int BPF_PROG(cpu_writeback_end_btf, struct inode *inode, struct writeback_control *wbc, unsigned long nr_to_write)
{
	struct writeback_work *w = bpf_task_storage_get(&writing_back, bpf_get_current_task_btf(), 0, 0);

	if (w)
		w->writing = 0;
	return 0;
}

/* CT_WRITEBACK_OWNERS_DIRTIER: the task dirtying an inode's pages owns its writeback. A
 * root-cgroup dirtier takes an inode back from a cgroup, but is not stored otherwise. */
SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(cpu_dirty_folio_btf, struct folio *folio, struct address_space *mapping)
{
	__u64 id = task_cgroup_btf(bpf_get_current_task_btf()), key, *known;
	struct inode *host;

	if (!mapping || !(host = mapping->host))
		return 0;
	key = (__u64)host;
	known = bpf_map_lookup_elem(&inode_dirtiers, &key);
	if (known ? *known != id : id != CT_ROOT_CGROUP)
		bpf_map_update_elem(&inode_dirtiers, &key, &id, BPF_ANY);
	return 0;
}

/* Fallback for kernels whose verifier cannot attach tp_btf: same work with CO-RE reads. */
SEC("raw_tp/sched_switch")
int BPF_PROG(cpu_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 next_pid = BPF_CORE_READ(next, pid);

	return on_switch(prev, BPF_CORE_READ(prev, pid), preempt || task_running_core(prev), next, next_pid,
			 next_pid ? task_cgroup_core(next) : 0, false);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(cpu_wakeup_raw, struct task_struct *p)
{
	return on_wakeup(p, BPF_CORE_READ(p, pid), task_cgroup_core(p), false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(cpu_wakeup_new_raw, struct task_struct *p)
{
	return on_wakeup(p, BPF_CORE_READ(p, pid), task_cgroup_core(p), false);
}

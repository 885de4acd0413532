// SPDX-License-Identifier: GPL-2.0
/* The io probe, with the eBPF probe's semantics (bpf/io.bpf.c): per owner cgroup (the
 * bio's blkcg, so writeback is charged to the dirtier) and disk, ops and bytes of every
 * request; for victim owners latency histograms (insert, or else issue, to completion;
 * issue to completion), slow-request events, and how long each of their requests was in
 * flight beside other owners' requests on its device, split among those owners.
 *
 * Delay attribution: each device keeps the owners with requests in flight (at most
 * CT_IO_OWNERS) and two clocks, advanced at every start and end on the device:
 *   contended_ns += dt while two or more owners are in flight;
 *   share_ns[X]  += dt / (owners in flight - 1) while X is in flight.
 * A victim request copies them when its life starts and reads them when it completes:
 * their advance is its delay and each other owner's part. A slot reassigned meanwhile
 * (its generation moved) leaves its part unattributed.
 *
 * A request's life runs from its insert (or issue) to its completion or merge. A
 * requeued request is inserted or issued again within the same life and keeps its first
 * start; any other second start means the end of the previous life went unseen, and that
 * life is closed then.
 *
 * Completion may come in an interrupt on a CPU whose insert or issue it interrupts, so
 * every hook runs with interrupts off: this CPU's tables, health and event ring then have
 * one writer at a time, and no lock is taken twice on a CPU. Requests in flight live in a
 * preallocated table of shards, each under its own lock; a device's clocks under the
 * device's lock, taken inside a shard's. Nothing is allocated in the probes. */
#include <linux/version.h>
#include "ctk.h"

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
#include <linux/blk-cgroup.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/cgroup.h>
#include <linux/hash.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>

/* A full device table counts map_full: the requests of a device beyond it get latency
 * but no delay. A shard is filled to 3/4 at most, so that probe runs stay short and
 * always end at an empty slot. */
#define DEVICES CTK_IO_DEVICES
#define SHARD_BITS CTK_IO_SHARD_BITS
#define SHARDS (1u << SHARD_BITS)
#define SHARD_SLOT_BITS CTK_IO_SHARD_SLOT_BITS
#define SHARD_SLOTS (1u << SHARD_SLOT_BITS)
#define SHARD_FILL (SHARD_SLOTS * 3 / 4)
/* An owner whose requests saw no start or end for this long no longer counts as in
 * flight: a request that ended without an event the probe hooks. */
#define STALE_NS (10ULL * NSEC_PER_SEC)
#define DEVICE_USED (1ULL << 32)

struct owner_slot {
	u64 owner;
	u64 share_ns;
	u64 last_event_ns;
	u32 inflight;
	u32 gen;
};

struct io_device {
	raw_spinlock_t lock;
	u64 key;         /* DEVICE_USED | dev; 0: free */
	u32 nactive;     /* owners with requests in flight */
	u64 updated_ns;  /* the clocks are advanced up to here */
	u64 contended_ns;
	struct owner_slot slot[CT_IO_OWNERS];
};

enum rq_phase {
	RQ_INSERTED = 1,
	RQ_ISSUED,
	RQ_REQUEUED,
};

/* A request in flight: its owner's slot on its device and, for a victim owner, its start
 * (with the device's clocks then). */
struct io_request {
	u64 rq;                    /* struct request pointer; 0: free */
	struct io_device *device;  /* NULL: not counted in flight (the device table was full) */
	u32 slot;                  /* CT_IO_OWNERS: not counted (the device's slots were full) */
	u32 gen;
	u32 phase;                 /* enum rq_phase */
	bool started;              /* start is a victim's */
	struct ct_io_start start;
};

struct io_shard {
	raw_spinlock_t lock;
	u32 count;
	struct io_request slot[SHARD_SLOTS];
};

/* The clocks a victim request reads at its start and end. */
struct clocks {
	u64 contended_ns;
	u64 owner[CT_IO_OWNERS];
	u64 share_ns[CT_IO_OWNERS];
	u32 gen[CT_IO_OWNERS];
};

static struct io_device *devices;
static struct io_shard *shards;
static DEFINE_RAW_SPINLOCK(devices_lock); /* taken to claim a free device slot */
static struct tracepoint *tp_insert, *tp_issue, *tp_complete, *tp_merge, *tp_requeue;
static u64 slow_ns;

int ctk_io_alloc(void)
{
	devices = kvcalloc(DEVICES, sizeof(*devices), GFP_KERNEL);
	shards = kvcalloc(SHARDS, sizeof(*shards), GFP_KERNEL);
	if (!devices || !shards) {
		ctk_io_free();
		return -ENOMEM;
	}
	ctk_io_clear();
	return 0;
}

void ctk_io_free(void)
{
	kvfree(devices);
	kvfree(shards);
	devices = NULL;
	shards = NULL;
}

void ctk_io_clear(void)
{
	u32 i;

	for (i = 0; i < DEVICES; i++) {
		memset(&devices[i], 0, sizeof(devices[i]));
		raw_spin_lock_init(&devices[i].lock);
	}
	for (i = 0; i < SHARDS; i++) {
		memset(&shards[i], 0, sizeof(shards[i]));
		raw_spin_lock_init(&shards[i].lock);
	}
}

static u8 op_class(blk_opf_t cmd_flags)
{
	u32 op = (__force u32)(cmd_flags & REQ_OP_MASK);

	return op <= CT_IO_DISCARD ? op : CT_IO_OTHER;
}

static u32 flag_set(blk_opf_t cmd_flags)
{
	u32 f = 0;

	if (cmd_flags & REQ_SYNC)
		f |= CT_IO_F_SYNC;
	if (cmd_flags & REQ_META)
		f |= CT_IO_F_META;
	if (cmd_flags & REQ_RAHEAD)
		f |= CT_IO_F_READAHEAD;
	if (cmd_flags & REQ_FUA)
		f |= CT_IO_F_FUA;
	if (cmd_flags & REQ_PREFLUSH)
		f |= CT_IO_F_PREFLUSH;
	return f;
}

/* The bio's blkcg (unified id on cgroup v2); 0 without one, e.g. a flush. */
static u64 rq_owner(struct request *rq)
{
	struct cgroup_subsys_state *css = rq->bio ? bio_blkcg_css(rq->bio) : NULL;

	return css ? cgroup_id(css->cgroup) : 0;
}

/* The whole disk, kernel encoding (major << 20 | minor), as the eBPF probe keys it. */
static u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = rq->q->disk;

	return disk ? disk_devt(disk) : 0;
}

static bool is_victim(u64 owner)
{
	return ctk_maybe_target(owner) && ctk_is_target(owner);
}

/* The device's state, claimed on its first request; NULL when every slot is taken. */
static struct io_device *device_of(u32 dev)
{
	u64 key = DEVICE_USED | dev;
	u32 h = hash_32(dev, CTK_IO_DEVICE_BITS), i;

	for (i = 0; i < DEVICES; i++) {
		struct io_device *d = &devices[(h + i) & (DEVICES - 1)];
		u64 k = smp_load_acquire(&d->key);

		if (!k) {
			raw_spin_lock(&devices_lock);
			k = d->key;
			if (!k)
				smp_store_release(&d->key, k = key);
			raw_spin_unlock(&devices_lock);
		}
		if (k == key)
			return d;
	}
	return NULL;
}

/* Advances the device's clocks to now; drops owners gone stale. Lock held. */
static void advance(struct io_device *d, u64 now)
{
	u64 dt = now > d->updated_ns ? now - d->updated_ns : 0;
	u64 part = d->nactive >= 2 ? div_u64(dt, d->nactive - 1) : 0;
	u32 i;

	if (d->nactive >= 2)
		d->contended_ns += dt;
	for (i = 0; i < CT_IO_OWNERS; i++) {
		struct owner_slot *s = &d->slot[i];

		if (!s->inflight)
			continue;
		s->share_ns += part;
		/* now may trail last_event_ns and updated_ns: it is read before the lock, which
		 * another CPU may take first with a later clock. */
		if (now > s->last_event_ns + STALE_NS) {
			s->inflight = 0;
			d->nactive--;
		}
	}
	if (now > d->updated_ns)
		d->updated_ns = now;
}

/* The slot of owner; CT_IO_OWNERS when every slot is in flight. A new owner takes a slot
 * never used before it takes an idle one: a victim request in flight reads the parts of
 * the slots it started beside, and a slot reassigned meanwhile leaves that part
 * unattributed, so up to CT_IO_OWNERS owners per device are never reassigned. */
static u32 slot_of(struct io_device *d, u64 owner)
{
	u32 unused = CT_IO_OWNERS, idle = CT_IO_OWNERS, pick, i;

	for (i = 0; i < CT_IO_OWNERS; i++) {
		struct owner_slot *s = &d->slot[i];

		if (s->owner == owner && s->gen)
			return i;
		if (!s->gen && unused == CT_IO_OWNERS)
			unused = i;
		else if (s->gen && !s->inflight && idle == CT_IO_OWNERS)
			idle = i;
	}
	pick = unused < CT_IO_OWNERS ? unused : idle;
	if (pick < CT_IO_OWNERS) {
		d->slot[pick].owner = owner;
		d->slot[pick].share_ns = 0;
		d->slot[pick].gen++;
	}
	return pick;
}

static void read_clocks(const struct io_device *d, struct clocks *c)
{
	u32 i;

	c->contended_ns = d->contended_ns;
	for (i = 0; i < CT_IO_OWNERS; i++) {
		c->owner[i] = d->slot[i].owner;
		c->share_ns[i] = d->slot[i].share_ns;
		c->gen[i] = d->slot[i].gen;
	}
}

/* A new life counts its owner in flight on its device from now; with c, the clocks then. */
static void enter_flight(struct ctk_cpu *c, struct io_request *r, u64 owner, u32 dev, u64 now, struct clocks *clk)
{
	struct io_device *d = device_of(dev);

	r->device = d;
	r->slot = CT_IO_OWNERS;
	r->gen = 0;
	if (!d) {
		c->io_health.map_full++;
		return;
	}
	raw_spin_lock(&d->lock);
	advance(d, now);
	r->slot = slot_of(d, owner);
	if (r->slot < CT_IO_OWNERS) {
		struct owner_slot *s = &d->slot[r->slot];

		if (!s->inflight++)
			d->nactive++;
		s->last_event_ns = now;
		r->gen = s->gen;
	}
	if (clk)
		read_clocks(d, clk);
	raw_spin_unlock(&d->lock);
	if (r->slot == CT_IO_OWNERS)
		c->io_health.map_full++;
}

/* A life ends (completed, merged, or found closed by the next start); with clk, the
 * clocks then. Returns whether it was counted on a device (clk is then read). */
static bool leave_flight(struct io_request *r, u64 now, struct clocks *clk)
{
	struct io_device *d = r->device;

	if (!d)
		return false;
	raw_spin_lock(&d->lock);
	advance(d, now);
	if (clk)
		read_clocks(d, clk);
	if (r->slot < CT_IO_OWNERS) {
		struct owner_slot *s = &d->slot[r->slot];

		if (s->gen == r->gen && s->inflight) {
			s->last_event_ns = now;
			if (!--s->inflight)
				d->nactive--;
		}
	}
	raw_spin_unlock(&d->lock);
	return true;
}

static struct io_shard *shard_of(u64 rq, u32 *home)
{
	u32 h = hash_64(rq, SHARD_BITS + SHARD_SLOT_BITS);

	*home = h & (SHARD_SLOTS - 1);
	return &shards[h >> SHARD_SLOT_BITS];
}

/* Linear probing within the shard; the 3/4 bound leaves an empty slot to stop at. */
static struct io_request *request_find(struct io_shard *sh, u32 home, u64 rq)
{
	u32 i;

	for (i = home;; i = (i + 1) & (SHARD_SLOTS - 1)) {
		if (sh->slot[i].rq == rq)
			return &sh->slot[i];
		if (!sh->slot[i].rq)
			return NULL;
	}
}

static struct io_request *request_add(struct io_shard *sh, u32 home, u64 rq)
{
	u32 i;

	if (sh->count >= SHARD_FILL)
		return NULL;
	for (i = home; sh->slot[i].rq; i = (i + 1) & (SHARD_SLOTS - 1))
		;
	sh->count++;
	sh->slot[i].rq = rq;
	return &sh->slot[i];
}

/* Deletes without tombstones: later entries of the run move back into the hole when
 * their home allows, so every run stays unbroken. */
static void request_delete(struct io_shard *sh, struct io_request *r)
{
	u32 hole = r - sh->slot, i = hole, home;

	for (;;) {
		i = (i + 1) & (SHARD_SLOTS - 1);
		if (!sh->slot[i].rq)
			break;
		shard_of(sh->slot[i].rq, &home);
		if (((i - home) & (SHARD_SLOTS - 1)) >= ((i - hole) & (SHARD_SLOTS - 1))) {
			sh->slot[hole] = sh->slot[i];
			hole = i;
		}
	}
	sh->slot[hole].rq = 0;
	sh->count--;
}

static void start_victim(struct io_request *r, const struct clocks *clk)
{
	struct ct_io_start *s = &r->start;
	u32 i;

	memset(s, 0, sizeof(*s));
	s->pid = current->pid;
	s->stack_id = -EOPNOTSUPP;
	memcpy(s->comm, current->comm, sizeof(s->comm));
	s->contended_ns = clk->contended_ns;
	for (i = 0; i < CT_IO_OWNERS; i++) {
		s->share_ns[i] = clk->share_ns[i];
		s->gen[i] = clk->gen[i];
	}
	r->started = true;
}

/* Insert or issue: a new life, or the same one going on (issue after insert, or again
 * after a requeue). */
static void on_start(struct ctk_cpu *c, struct request *rq, bool insert)
{
	u64 key = (u64)(uintptr_t)rq, now = ktime_get_mono_fast_ns(), owner = rq_owner(rq);
	bool victim = is_victim(owner);
	struct io_request *r;
	struct io_shard *sh;
	struct clocks clk = {};
	u32 home;

	sh = shard_of(key, &home);
	raw_spin_lock(&sh->lock);
	r = request_find(sh, home, key);
	if (r && (r->phase == RQ_REQUEUED || (!insert && r->phase == RQ_INSERTED))) {
		r->phase = insert ? RQ_INSERTED : RQ_ISSUED;
	} else {
		if (r)
			leave_flight(r, now, NULL);
		else if (!(r = request_add(sh, home, key)))
			goto full;
		r->phase = insert ? RQ_INSERTED : RQ_ISSUED;
		r->started = false;
		enter_flight(c, r, owner, rq_dev(rq), now, victim ? &clk : NULL);
		if (victim)
			start_victim(r, &clk);
	}
	/* Its life began before its owner was a victim, or it is none now. */
	if (victim && r->started) {
		if (!insert) {
			r->start.issue_ns = now; /* issued again after a requeue: the last issue */
			r->start.sector = blk_rq_pos(rq);
			r->start.bytes = blk_rq_bytes(rq);
		} else if (!r->start.insert_ns) { /* inserted again after a requeue: the first */
			r->start.insert_ns = now;
		}
	}
	raw_spin_unlock(&sh->lock);
	return;
full:
	raw_spin_unlock(&sh->lock);
	c->io_health.map_full++;
}

static void emit_slow(struct ctk_cpu *c, u64 io_class, u64 owner, const struct ct_io_start *s, u32 flags, u64 total,
		      u64 device, u64 now)
{
	struct ctk_event *ev = ctk_event_reserve(c);
	struct ct_io_event *e;

	if (!ev) {
		c->io_health.events_dropped++;
		return;
	}
	ev->kind = CTK_EVENT_IO;
	e = &ev->io;
	memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->total_ns = total;
	e->device_ns = device;
	e->sector = s->sector;
	e->bytes = s->bytes;
	e->cgroup_id = owner;
	e->pid = s->pid;
	e->dev = CTK_IO_CLASS_DEV(io_class);
	e->flags = flags;
	e->stack_id = s->stack_id;
	e->op = CTK_IO_CLASS_OP(io_class);
	memcpy(e->comm, s->comm, sizeof(e->comm));
	ctk_event_commit(c);
}

/* Splits a victim request's delay among the owners in flight beside it; returns the part
 * whose owner could not be told (its slot was reassigned meanwhile) or counted (the
 * delay table was full). */
static u64 attribute_delay(struct ctk_cpu *c, u64 io_class, u64 victim, const struct ct_io_start *s,
			   const struct clocks *end, u64 delayed)
{
	u64 dev_class = CTK_IO_CLASS(CTK_IO_CLASS_DEV(io_class), 0, 0), attributed = 0;
	u32 i;

	for (i = 0; i < CT_IO_OWNERS; i++) {
		struct ctk_io_delay_slot *d;
		u64 part;

		if (end->gen[i] != s->gen[i] || end->owner[i] == victim || end->share_ns[i] <= s->share_ns[i])
			continue;
		part = end->share_ns[i] - s->share_ns[i];
		d = ctk_table_get(&c->io_delays, (u64[]){ dev_class, victim, end->owner[i] });
		if (!d) {
			c->io_health.map_full++;
			continue;
		}
		d->v.ns += part;
		d->v.requests++;
		attributed += part;
	}
	return attributed < delayed ? delayed - attributed : 0;
}

static void record_latency(struct ctk_cpu *c, u64 io_class, u64 owner, const struct ct_io_start *s, u32 flags,
			   u64 now, const struct clocks *end)
{
	u64 from = s->insert_ns ?: s->issue_ns, total, device, delayed = 0, unattributed = 0;
	struct ctk_io_latency_slot *lat;

	if (!s->issue_ns || now < s->issue_ns || s->issue_ns < from)
		return; /* issued before the probe was registered */
	total = now - from;
	device = now - s->issue_ns;
	lat = ctk_table_get(&c->io_latency, (u64[]){ io_class, owner });
	if (!lat) {
		c->io_health.map_full++;
		return;
	}
	if (end && end->contended_ns > s->contended_ns) {
		delayed = end->contended_ns - s->contended_ns;
		unattributed = attribute_delay(c, io_class, owner, s, end, delayed);
	}
	lat->v.count++;
	lat->v.total_ns += total;
	lat->v.device_ns += device;
	lat->v.delayed_ns += delayed;
	lat->v.unattributed_ns += unattributed;
	lat->v.total_hist[ctk_hist_slot(total)]++;
	lat->v.device_hist[ctk_hist_slot(device)]++;
	if (total >= slow_ns)
		emit_slow(c, io_class, owner, s, flags, total, device, now);
}

/* A (possibly partial) completion: bytes always; the op, the end of its life and its
 * latency once the request has no bytes left. */
static void on_complete(struct ctk_cpu *c, struct request *rq, unsigned int nr_bytes)
{
	u64 key = (u64)(uintptr_t)rq, owner = rq_owner(rq), now;
	u32 flags = flag_set(rq->cmd_flags), home;
	u64 io_class = CTK_IO_CLASS(rq_dev(rq), op_class(rq->cmd_flags), (flags & CT_IO_F_SYNC) ? 1 : 0);
	struct ctk_io_stats_slot *st = ctk_table_get(&c->io_stats, (u64[]){ io_class, owner });
	bool last = nr_bytes >= blk_rq_bytes(rq), victim, tracked;
	struct io_request *r;
	struct io_shard *sh;
	struct clocks end;

	if (!st) {
		c->io_health.map_full++;
	} else {
		st->v.bytes += nr_bytes;
		if (last)
			st->v.ops++;
	}
	if (!last)
		return;
	now = ktime_get_mono_fast_ns();
	victim = is_victim(owner);
	sh = shard_of(key, &home);
	raw_spin_lock(&sh->lock);
	r = request_find(sh, home, key);
	if (r) {
		tracked = leave_flight(r, now, victim ? &end : NULL);
		if (victim && r->started)
			record_latency(c, io_class, owner, &r->start, flags, now, tracked ? &end : NULL);
		request_delete(sh, r);
	}
	raw_spin_unlock(&sh->lock);
}

/* A request merged into another ends without completing: it leaves flight here. */
static void on_merge(struct ctk_cpu *c, struct request *rq)
{
	u64 key = (u64)(uintptr_t)rq;
	struct io_request *r;
	struct io_shard *sh;
	u32 home;

	sh = shard_of(key, &home);
	raw_spin_lock(&sh->lock);
	r = request_find(sh, home, key);
	if (r) {
		leave_flight(r, ktime_get_mono_fast_ns(), NULL);
		request_delete(sh, r);
	}
	raw_spin_unlock(&sh->lock);
}

/* The driver gave a request back (busy): it will be inserted or issued again, same life. */
static void on_requeue(struct ctk_cpu *c, struct request *rq)
{
	u64 key = (u64)(uintptr_t)rq;
	struct io_request *r;
	struct io_shard *sh;
	u32 home;

	sh = shard_of(key, &home);
	raw_spin_lock(&sh->lock);
	r = request_find(sh, home, key);
	if (r)
		r->phase = RQ_REQUEUED;
	raw_spin_unlock(&sh->lock);
}

enum hook_kind {
	HOOK_INSERT,
	HOOK_ISSUE,
	HOOK_COMPLETE,
	HOOK_MERGE,
	HOOK_REQUEUE,
};

/* Every hook: interrupts off, timed while stats=1. */
static void hook(enum hook_kind kind, struct request *rq, unsigned int nr_bytes)
{
	bool stats = READ_ONCE(ctk_stats_enabled);
	u64 started = stats ? local_clock() : 0;
	unsigned long irq;
	struct ctk_cpu *c;

	local_irq_save(irq);
	c = this_cpu_ptr(ctk_cpus);
	switch (kind) {
	case HOOK_INSERT:
	case HOOK_ISSUE:
		on_start(c, rq, kind == HOOK_INSERT);
		break;
	case HOOK_COMPLETE:
		on_complete(c, rq, nr_bytes);
		break;
	case HOOK_MERGE:
		on_merge(c, rq);
		break;
	case HOOK_REQUEUE:
		on_requeue(c, rq);
		break;
	}
	if (stats) {
		c->run_ns[CTK_HOOK_IO] += local_clock() - started;
		c->run_count[CTK_HOOK_IO]++;
	}
	local_irq_restore(irq);
}

static void probe_insert(void *data, struct request *rq)
{
	hook(HOOK_INSERT, rq, 0);
}

static void probe_issue(void *data, struct request *rq)
{
	hook(HOOK_ISSUE, rq, 0);
}

static void probe_complete(void *data, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	hook(HOOK_COMPLETE, rq, nr_bytes);
}

static void probe_merge(void *data, struct request *rq)
{
	hook(HOOK_MERGE, rq, 0);
}

static void probe_requeue(void *data, struct request *rq)
{
	hook(HOOK_REQUEUE, rq, 0);
}

int ctk_io_find(void)
{
	tp_insert = ctk_tracepoint("block_rq_insert");
	tp_issue = ctk_tracepoint("block_rq_issue");
	tp_complete = ctk_tracepoint("block_rq_complete");
	tp_merge = ctk_tracepoint("block_rq_merge");
	tp_requeue = ctk_tracepoint("block_rq_requeue");
	return tp_insert && tp_issue && tp_complete ? 0 : -ENOENT;
}

/* Registered in this order (merge and requeue when the kernel has them), unregistered in
 * reverse: the end of a life is hooked before any start. */
static struct {
	struct tracepoint **tp;
	void *probe;
} hooks[] = {
	{ &tp_complete, probe_complete },
	{ &tp_merge, probe_merge },
	{ &tp_requeue, probe_requeue },
	{ &tp_insert, probe_insert },
	{ &tp_issue, probe_issue },
};

static int registered;

void ctk_io_unregister(void)
{
	while (registered > 0) {
		registered--;
		if (*hooks[registered].tp)
			tracepoint_probe_unregister(*hooks[registered].tp, hooks[registered].probe, NULL);
	}
}

int ctk_io_register(u64 threshold_ns)
{
	int err;

	slow_ns = threshold_ns;
	for (registered = 0; registered < ARRAY_SIZE(hooks); registered++) {
		if (!*hooks[registered].tp)
			continue;
		err = tracepoint_probe_register(*hooks[registered].tp, hooks[registered].probe, NULL);
		if (err) {
			ctk_io_unregister();
			return err;
		}
	}
	return 0;
}

#else /* before 6.0: no io probe */

int ctk_io_find(void)
{
	return -ENOENT;
}

int ctk_io_alloc(void)
{
	return 0;
}

void ctk_io_free(void)
{
}

int ctk_io_register(u64 slow_ns)
{
	return -EOPNOTSUPP;
}

void ctk_io_unregister(void)
{
}

void ctk_io_clear(void)
{
}

#endif

// SPDX-License-Identifier: GPL-2.0
/* io probe: per owner cgroup and disk, ops and bytes of every request (any cgroup can
 * be the aggressor); for victim owners also latency histograms, slow-request records,
 * and how long each of their requests was in flight beside other owners' requests on
 * the same device, split among those owners.
 *
 * The owner is the bio's blkcg, read from the request itself: insert and issue may run
 * in a kworker and completion in an interrupt, so the current task's cgroup would be
 * wrong. Where the kernel cannot follow dirty pages (cgroup v1 blkio: writeback bios
 * carry the root blkcg) the probe remembers who dirtied each inode when its pages are
 * dirtied, and charges root-owned writes of that inode to the dirtier.
 *
 * Delay attribution (tp_btf only: it needs a spin lock, which raw_tp programs may not
 * take). Each device keeps, under its lock, the owners with requests in flight (at most
 * CT_IO_OWNERS) and two clocks advanced at every start and completion on the device:
 *   contended_ns += dt while two or more owners are in flight;
 *   share_ns[X]  += dt / (owners in flight - 1) while X is in flight.
 * A victim request copies the clocks when it starts and reads them when it completes.
 * Its victim owner is in flight all along, so the advance of contended_ns is exactly the
 * time some other owner was in flight beside it, and the advance of each other owner's
 * share_ns is that owner's part, the time split evenly among the owners in flight at
 * each moment. A slot reassigned meanwhile (its generation moved) leaves its part
 * unattributed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "io.h"
#include "core_fixes.bpf.h"
#include "hist.bpf.h"
#include "maps.bpf.h"
#include "targets.bpf.h" /* victim owners: blkio-hierarchy ids on cgroup v1 */

char LICENSE[] SEC("license") = "GPL";

#define REQ_OP_MASK 0xffu
/* The root blkcg: where the kernel charges what it cannot attribute. */
#define ROOT_CGROUP 1
/* An owner whose requests saw no start or completion for this long no longer counts as
 * in flight: a request that ended without an event the probe hooks. */
#define STALE_NS (10ULL * 1000 * 1000 * 1000)

/* Set by user space before load. */
const volatile __u64 slow_ns = 10 * 1000 * 1000;
const volatile bool capture_stacks = false;
/* Before 5.11 (and 5.10.137) block_rq_insert/issue took (q, rq); user space reads the
 * shape from BTF. */
const volatile bool rq_is_second_arg = false;
/* Hosts with the v1 blkio controller: writeback is charged to the inode's dirtier. */
const volatile bool charge_writeback_to_dirtier = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_CGROUPS);
	__type(key, struct ct_io_key);
	__type(value, struct ct_io_stats);
} io_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_TARGETS);
	__type(key, struct ct_io_key);
	__type(value, struct ct_io_latency);
} io_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_PAIRS);
	__type(key, struct ct_io_delay_key);
	__type(value, struct ct_io_delay);
} io_delays SEC(".maps");

/* Victim requests in flight, from the start of each request's life (see inflight). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ct_io_start);
} io_starts SEC(".maps");

struct owner_slot {
	__u64 owner;
	__u64 share_ns;
	__u64 last_event_ns;
	__u32 inflight;
	__u32 gen;
};

struct device_state {
	struct bpf_spin_lock lock;
	__u32 nactive;          /* owners with requests in flight */
	__u64 updated_ns;       /* the clocks are advanced up to here */
	__u64 contended_ns;
	struct owner_slot slot[CT_IO_OWNERS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct device_state);
} devices SEC(".maps");

/* Where a request is in its life. A requeued request (the driver was busy) is inserted
 * or issued again within the same life; any other second start means the end of the
 * previous life went unseen, and that life is closed then. Requests are preallocated
 * and reused, so the key alone cannot tell the two apart. */
enum rq_phase {
	RQ_INSERTED = 1,
	RQ_ISSUED,
	RQ_REQUEUED,
};

/* Every request counted in flight: its owner's slot on its device. */
struct inflight {
	__u64 owner;
	__u32 dev;
	__u32 slot;             /* CT_IO_OWNERS: not counted (the device's slots were full) */
	__u32 gen;
	__u32 phase;            /* enum rq_phase */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct inflight);
} inflights SEC(".maps");

/* Who dirtied an inode last (charge_writeback_to_dirtier). */
struct inode_key {
	__u64 ino;
	__u32 dev;              /* the superblock's */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, __u64);
} dirtiers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} io_events SEC(".maps");

/* User space shrinks it to one entry unless stacks are captured. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__uint(value_size, CT_STACK_DEPTH * sizeof(__u64));
} io_stacks SEC(".maps");

struct ct_health health = {};

static __always_inline __u8 op_class(__u32 cmd_flags)
{
	__u32 op = cmd_flags & REQ_OP_MASK;

	return op <= CT_IO_DISCARD ? op : CT_IO_OTHER;
}

static __always_inline __u32 bit(int nr)
{
	return nr >= 0 && nr < 32 ? 1u << nr : 0;
}

static __always_inline __u32 flag_set(__u32 cmd_flags)
{
	__u32 f = 0;

	if (cmd_flags & bit(bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		f |= CT_IO_F_SYNC;
	if (cmd_flags & bit(bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		f |= CT_IO_F_META;
	if (cmd_flags & bit(bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD)))
		f |= CT_IO_F_READAHEAD;
	if (cmd_flags & bit(bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		f |= CT_IO_F_FUA;
	if (cmd_flags & bit(bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH)))
		f |= CT_IO_F_PREFLUSH;
	return f;
}

/* The inode the request's first page belongs to (0 for anonymous or no pages). The
 * mapping pointer carries flag bits, so it is read as a number and followed with probe
 * reads (only root-owned writes get here). */
static __always_inline struct inode_key request_inode(struct request *rq)
{
	struct inode_key k = {};
	struct bio *bio = rq->bio;
	unsigned long mapping = 0;
	struct inode *host;

	if (!bio || !bio->bi_io_vec)
		return k;
	bpf_probe_read_kernel(&mapping, sizeof(mapping), &bio->bi_io_vec->bv_page->mapping);
	if (!mapping || (mapping & 1)) /* PAGE_MAPPING_ANON */
		return k;
	host = BPF_CORE_READ((struct address_space *)mapping, host);
	if (!host)
		return k;
	k.ino = BPF_CORE_READ(host, i_ino);
	k.dev = BPF_CORE_READ(host, i_sb, s_dev);
	return k;
}

/* The owner an IO is charged to: the bio's blkcg, or the dirtier of a root-owned write. */
static __always_inline __u64 owner_btf(struct request *rq, bool dirtier)
{
	__u64 owner = rq_owner_btf(rq), *by;
	struct inode_key k;

	if (!dirtier || owner != ROOT_CGROUP || op_class(rq->cmd_flags) != CT_IO_WRITE)
		return owner;
	k = request_inode(rq);
	if (!k.ino)
		return owner;
	by = bpf_map_lookup_elem(&dirtiers, &k);
	return by ? *by : owner;
}

/* Advances the device's clocks to now; drops owners gone stale. Lock held. */
static __always_inline void advance(struct device_state *d, __u64 now)
{
	__u64 dt = now > d->updated_ns ? now - d->updated_ns : 0;
	__u64 part = d->nactive >= 2 ? dt / (d->nactive - 1) : 0;

	if (d->nactive >= 2)
		d->contended_ns += dt;
	for (int i = 0; i < CT_IO_OWNERS; i++) {
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

/* The slot of owner; CT_IO_OWNERS when every slot is in flight. A new owner takes a
 * slot never used before it takes an idle one: a victim request in flight reads the
 * parts of the slots it started beside, and a slot reassigned meanwhile leaves that part
 * unattributed, so up to CT_IO_OWNERS owners per device are never reassigned. */
static __always_inline __u32 slot_of(struct device_state *d, __u64 owner)
{
	__u32 unused = CT_IO_OWNERS, idle = CT_IO_OWNERS, pick;

	for (int i = 0; i < CT_IO_OWNERS; i++) {
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
		struct owner_slot *s = &d->slot[pick & (CT_IO_OWNERS - 1)];

		s->owner = owner;
		s->share_ns = 0;
		s->gen++;
	}
	return pick;
}

/* The clocks a victim request reads at its start and end. */
struct clocks {
	__u64 contended_ns;
	__u64 owner[CT_IO_OWNERS];
	__u64 share_ns[CT_IO_OWNERS];
	__u32 gen[CT_IO_OWNERS];
};

static __always_inline void read_clocks(struct device_state *d, struct clocks *c)
{
	c->contended_ns = d->contended_ns;
	for (int i = 0; i < CT_IO_OWNERS; i++) {
		c->owner[i] = d->slot[i].owner;
		c->share_ns[i] = d->slot[i].share_ns;
		c->gen[i] = d->slot[i].gen;
	}
}

static __always_inline struct device_state *device_of(__u32 dev)
{
	static const struct device_state zero;

	return lookup_or_init(&devices, &dev, &zero);
}

/* A request leaves flight (completed, or merged into another). Returns false when it was
 * not tracked. */
static __always_inline bool track_end(__u64 rq, __u64 now, struct clocks *c)
{
	struct inflight *f = bpf_map_lookup_elem(&inflights, &rq);
	struct device_state *d;
	__u32 slot, gen, dev;

	if (!f)
		return false;
	slot = f->slot;
	gen = f->gen;
	dev = f->dev;
	bpf_map_delete_elem(&inflights, &rq);
	d = bpf_map_lookup_elem(&devices, &dev);
	if (!d)
		return false;
	bpf_spin_lock(&d->lock);
	advance(d, now);
	if (c)
		read_clocks(d, c);
	if (slot < CT_IO_OWNERS) {
		struct owner_slot *s = &d->slot[slot & (CT_IO_OWNERS - 1)];

		if (s->gen == gen && s->inflight) {
			s->last_event_ns = now;
			if (!--s->inflight)
				d->nactive--;
		}
	}
	bpf_spin_unlock(&d->lock);
	return true;
}

/* How a start found the request: a new life began (its clocks read), the life it is in
 * goes on (issue after insert, or again after a requeue), or it could not be tracked. */
enum start_kind {
	START_NEW,
	START_SAME_LIFE,
	START_UNTRACKED,
};

/* A request is inserted or issued: a new life counts its owner in flight from now. */
static __always_inline enum start_kind track_start(__u64 rq, __u64 owner, __u32 dev, __u64 now, bool insert,
						   struct clocks *c)
{
	struct inflight f = { .owner = owner, .dev = dev, .slot = CT_IO_OWNERS };
	struct inflight *known = bpf_map_lookup_elem(&inflights, &rq);
	struct device_state *d;

	if (known) {
		if (known->phase == RQ_REQUEUED || (!insert && known->phase == RQ_INSERTED)) {
			known->phase = insert ? RQ_INSERTED : RQ_ISSUED;
			return START_SAME_LIFE;
		}
		track_end(rq, now, NULL);
	}
	f.phase = insert ? RQ_INSERTED : RQ_ISSUED;
	d = device_of(dev);
	if (!d) {
		__sync_fetch_and_add(&health.map_full, 1);
		return START_UNTRACKED;
	}
	bpf_spin_lock(&d->lock);
	advance(d, now);
	f.slot = slot_of(d, owner);
	if (f.slot < CT_IO_OWNERS) {
		struct owner_slot *s = &d->slot[f.slot & (CT_IO_OWNERS - 1)];

		if (!s->inflight++)
			d->nactive++;
		s->last_event_ns = now;
		f.gen = s->gen;
	}
	if (c)
		read_clocks(d, c);
	bpf_spin_unlock(&d->lock);
	if (f.slot == CT_IO_OWNERS)
		__sync_fetch_and_add(&health.map_full, 1);
	if (bpf_map_update_elem(&inflights, &rq, &f, BPF_ANY)) {
		__sync_fetch_and_add(&health.map_full, 1);
		return START_UNTRACKED;
	}
	return START_NEW;
}

/* What insert/issue need from the request, read by either variant. */
struct rq_view {
	__u64 owner;
	__u64 sector;
	__u64 bytes;
	__u32 dev;
};

/* Insert or issue of a request: counted in flight (tp_btf), remembered in full only when
 * its owner is a victim. */
static __always_inline int on_start(void *ctx, struct request *rq, const struct rq_view *v, bool insert, bool btf)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	bool victim = is_target(v->owner), new_life;
	enum start_kind started = START_UNTRACKED;
	struct ct_io_start *s;
	struct clocks c = {};

	if (btf)
		started = track_start(key, v->owner, v->dev, now, insert, victim ? &c : NULL);
	if (!victim)
		return 0;
	s = bpf_map_lookup_elem(&io_starts, &key);
	/* Without tp_btf there are no lives to follow: each insert starts afresh. */
	new_life = btf ? started != START_SAME_LIFE : !s || insert;
	if (new_life) {
		struct ct_io_start fresh = { .stack_id = -1 };

		fresh.pid = (__u32)bpf_get_current_pid_tgid();
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		if (capture_stacks) {
			fresh.stack_id = bpf_get_stackid(ctx, &io_stacks, 0);
			if (fresh.stack_id < 0)
				__sync_fetch_and_add(&health.stack_errors, 1);
		}
		if (btf) {
			fresh.contended_ns = c.contended_ns;
			for (int i = 0; i < CT_IO_OWNERS; i++) {
				fresh.share_ns[i] = c.share_ns[i];
				fresh.gen[i] = c.gen[i];
			}
		}
		if (bpf_map_update_elem(&io_starts, &key, &fresh, BPF_ANY)) {
			__sync_fetch_and_add(&health.map_full, 1);
			return 0;
		}
		s = bpf_map_lookup_elem(&io_starts, &key);
	}
	if (!s) /* its life began before its owner was a victim */
		return 0;
	if (insert) {
		if (!s->insert_ns) /* inserted again after a requeue: it waited since the first */
			s->insert_ns = now;
	} else {
		s->issue_ns = now; /* a requeued request is issued again: keep the last */
		s->sector = v->sector;
		s->bytes = v->bytes;
	}
	return 0;
}

static __always_inline void emit_slow(const struct ct_io_key *k, const struct ct_io_start *s, __u32 flags,
				      __u64 total, __u64 device, __u64 now)
{
	struct ct_io_event *e = bpf_ringbuf_reserve(&io_events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&health.events_dropped, 1);
		return;
	}
	e->time_ns = now;
	e->total_ns = total;
	e->device_ns = device;
	e->sector = s->sector;
	e->bytes = s->bytes;
	e->cgroup_id = k->cgroup;
	e->pid = s->pid;
	e->dev = k->dev;
	e->flags = flags;
	e->stack_id = s->stack_id;
	e->op = k->op;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memcpy(e->comm, s->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/* Returns false when the delay map is full: that part stays unattributed, so each counted
 * holder's share of the delay stays right. */
static __always_inline bool add_delay(__u64 victim, __u64 holder, __u32 dev, __u64 ns)
{
	static const struct ct_io_delay zero;
	struct ct_io_delay_key k = { .victim = victim, .holder = holder, .dev = dev };
	struct ct_io_delay *d = lookup_or_init(&io_delays, &k, &zero);

	if (!d) {
		__sync_fetch_and_add(&health.map_full, 1);
		return false;
	}
	__sync_fetch_and_add(&d->ns, ns);
	__sync_fetch_and_add(&d->requests, 1);
	return true;
}

/* Splits a victim request's delay among the owners in flight beside it; returns the
 * part whose owner could not be told (its slot was reassigned meanwhile) or counted (the
 * delay map was full). */
static __always_inline __u64 attribute_delay(const struct ct_io_key *k, const struct ct_io_start *s,
					     const struct clocks *end, __u64 delayed)
{
	__u64 attributed = 0;

	for (int i = 0; i < CT_IO_OWNERS; i++) {
		__u64 part;

		if (end->gen[i] != s->gen[i] || end->owner[i] == k->cgroup || end->share_ns[i] <= s->share_ns[i])
			continue;
		part = end->share_ns[i] - s->share_ns[i];
		if (add_delay(k->cgroup, end->owner[i], k->dev, part))
			attributed += part;
	}
	return attributed < delayed ? delayed - attributed : 0;
}

static __always_inline void record_latency(const struct ct_io_key *k, __u64 rq, __u32 flags, __u64 now,
					   const struct clocks *end)
{
	static const struct ct_io_latency zero;
	struct ct_io_start *s = bpf_map_lookup_elem(&io_starts, &rq);
	struct ct_io_latency *lat;
	__u64 from, total, device, delayed = 0, unattributed = 0;

	if (!s)
		return;
	from = s->insert_ns ? s->insert_ns : s->issue_ns;
	if (!s->issue_ns || now < s->issue_ns || s->issue_ns < from)
		goto done; /* issued before the probe was attached */
	total = now - from;
	device = now - s->issue_ns;
	lat = lookup_or_init(&io_latency, k, &zero);
	if (!lat) {
		__sync_fetch_and_add(&health.map_full, 1);
		goto done;
	}
	if (end && end->contended_ns > s->contended_ns) {
		delayed = end->contended_ns - s->contended_ns;
		unattributed = attribute_delay(k, s, end, delayed);
	}
	__sync_fetch_and_add(&lat->count, 1);
	__sync_fetch_and_add(&lat->total_ns, total);
	__sync_fetch_and_add(&lat->device_ns, device);
	__sync_fetch_and_add(&lat->delayed_ns, delayed);
	__sync_fetch_and_add(&lat->unattributed_ns, unattributed);
	__sync_fetch_and_add(&lat->total_hist[hist_slot_ns(total)], 1);
	__sync_fetch_and_add(&lat->device_hist[hist_slot_ns(device)], 1);
	if (total >= slow_ns)
		emit_slow(k, s, flags, total, device, now);
done:
	bpf_map_delete_elem(&io_starts, &rq);
}

/* A (possibly partial) completion: bytes always, the op, its flight and its latency once
 * the request has no bytes left. */
static __always_inline int on_complete(struct request *rq, __u64 owner, __u32 dev, __u32 cmd_flags,
				       __u32 remaining, __u32 nr_bytes, bool btf)
{
	static const struct ct_io_stats zero;
	__u32 flags = flag_set(cmd_flags);
	struct ct_io_key k = {
		.cgroup = owner,
		.dev = dev,
		.op = op_class(cmd_flags),
		.sync = (flags & CT_IO_F_SYNC) ? 1 : 0,
	};
	struct ct_io_stats *st = lookup_or_init(&io_stats, &k, &zero);
	bool last = nr_bytes >= remaining, victim, tracked = false;
	__u64 now;
	struct clocks end;

	if (!st) {
		__sync_fetch_and_add(&health.map_full, 1);
	} else {
		__sync_fetch_and_add(&st->bytes, nr_bytes);
		if (last)
			__sync_fetch_and_add(&st->ops, 1);
	}
	if (!last)
		return 0;
	now = bpf_ktime_get_ns();
	victim = is_target(owner);
	if (btf)
		tracked = track_end((__u64)rq, now, victim ? &end : NULL);
	if (victim)
		record_latency(&k, (__u64)rq, flags, now, tracked ? &end : NULL);
	return 0;
}

static __always_inline struct request *rq_arg(unsigned long long *ctx)
{
	return rq_is_second_arg ? (struct request *)ctx[1] : (struct request *)ctx[0];
}

static __always_inline int start_btf(void *ctx, struct request *rq, bool insert)
{
	struct rq_view v = {
		.owner = owner_btf(rq, charge_writeback_to_dirtier),
		.sector = rq->__sector,
		.bytes = rq->__data_len,
		.dev = rq_dev_btf(rq),
	};

	return on_start(ctx, rq, &v, insert, true);
}

static __always_inline int start_core(void *ctx, struct request *rq, bool insert)
{
	struct rq_view v = {
		.owner = rq_owner_core(rq),
		.sector = BPF_CORE_READ(rq, __sector),
		.bytes = BPF_CORE_READ(rq, __data_len),
		.dev = rq_dev_core(rq),
	};

	return on_start(ctx, rq, &v, insert, false);
}

SEC("tp_btf/block_rq_insert")
int io_insert_btf(unsigned long long *ctx)
{
	return start_btf(ctx, rq_arg(ctx), true);
}

SEC("tp_btf/block_rq_issue")
int io_issue_btf(unsigned long long *ctx)
{
	return start_btf(ctx, rq_arg(ctx), false);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(io_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
	return on_complete(rq, owner_btf(rq, charge_writeback_to_dirtier), rq_dev_btf(rq), rq->cmd_flags,
			   rq->__data_len, nr_bytes, true);
}

/* A request merged into another ends without completing: it leaves flight here. */
SEC("tp_btf/block_rq_merge")
int BPF_PROG(io_merge_btf, struct request *rq)
{
	__u64 key = (__u64)rq;

	track_end(key, bpf_ktime_get_ns(), NULL);
	bpf_map_delete_elem(&io_starts, &key);
	return 0;
}

/* The driver gave a request back (busy): it will be inserted or issued again, same life. */
SEC("tp_btf/block_rq_requeue")
int io_requeue_btf(unsigned long long *ctx)
{
	__u64 key = (__u64)rq_arg(ctx);
	struct inflight *f = bpf_map_lookup_elem(&inflights, &key);

	if (f)
		f->phase = RQ_REQUEUED;
	return 0;
}

/* Who dirties a file's pages: the task dirtying them, in the blkio hierarchy. */
SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(io_dirty_folio_btf, struct folio *folio, struct address_space *mapping)
{
	struct task_struct *t = bpf_get_current_task_btf();
	int io = bpf_core_enum_value(enum cgroup_subsys_id, io_cgrp_id);
	struct inode_key k = {};
	struct inode *host;
	__u64 id, *known;

	if (!mapping || !(host = mapping->host) || io < 0 || io >= CGROUP_SUBSYS_COUNT)
		return 0;
	id = t->cgroups->subsys[io]->cgroup->kn->id;
	if (id == ROOT_CGROUP)
		return 0;
	k.ino = host->i_ino;
	k.dev = host->i_sb->s_dev;
	known = bpf_map_lookup_elem(&dirtiers, &k);
	if (!known || *known != id)
		bpf_map_update_elem(&dirtiers, &k, &id, BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_insert")
int io_insert_raw(unsigned long long *ctx)
{
	return start_core(ctx, rq_arg(ctx), true);
}

SEC("raw_tp/block_rq_issue")
int io_issue_raw(unsigned long long *ctx)
{
	return start_core(ctx, rq_arg(ctx), false);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(io_complete_raw, struct request *rq, int error, unsigned int nr_bytes)
{
	return on_complete(rq, rq_owner_core(rq), rq_dev_core(rq), BPF_CORE_READ(rq, cmd_flags),
			   BPF_CORE_READ(rq, __data_len), nr_bytes, false);
}

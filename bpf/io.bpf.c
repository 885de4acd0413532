// SPDX-License-Identifier: GPL-2.0
/* io probe: per owner cgroup and disk, ops and bytes of every request (any cgroup can
 * be the aggressor); for victim owners also latency histograms and slow-request
 * records. The owner is the bio's blkcg, read from the request itself: insert and
 * issue may run in a kworker and completion in an interrupt, so the current task's
 * cgroup would be wrong. */
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

/* Set by user space before load. */
const volatile __u64 slow_ns = 10 * 1000 * 1000;
const volatile bool capture_stacks = false;
/* Before 5.11 (and 5.10.137) block_rq_insert/issue took (q, rq); user space reads the
 * shape from BTF. */
const volatile bool rq_is_second_arg = false;

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

/* Requests are preallocated and reused, so an entry whose completion was missed is
 * overwritten by the next use of the same request. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ct_io_start);
} io_starts SEC(".maps");

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

/* What insert/issue need from the request, read by either variant. */
struct rq_view {
	__u64 owner;
	__u64 sector;
	__u64 bytes;
};

/* Insert or issue of a request: remembered only when its owner is a victim. */
static __always_inline int on_start(void *ctx, struct request *rq, const struct rq_view *v, bool insert)
{
	__u64 key = (__u64)rq, now;
	struct ct_io_start *s;

	if (!is_target(v->owner))
		return 0;
	now = bpf_ktime_get_ns();
	s = bpf_map_lookup_elem(&io_starts, &key);
	if (!s || insert) {
		struct ct_io_start fresh = { .stack_id = -1 };

		fresh.pid = (__u32)bpf_get_current_pid_tgid();
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		if (capture_stacks) {
			fresh.stack_id = bpf_get_stackid(ctx, &io_stacks, 0);
			if (fresh.stack_id < 0)
				__sync_fetch_and_add(&health.stack_errors, 1);
		}
		if (bpf_map_update_elem(&io_starts, &key, &fresh, BPF_ANY)) {
			__sync_fetch_and_add(&health.map_full, 1);
			return 0;
		}
		s = bpf_map_lookup_elem(&io_starts, &key);
		if (!s)
			return 0;
	}
	if (insert) {
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

static __always_inline void record_latency(const struct ct_io_key *k, __u64 rq, __u32 flags)
{
	static const struct ct_io_latency zero;
	struct ct_io_start *s = bpf_map_lookup_elem(&io_starts, &rq);
	struct ct_io_latency *lat;
	__u64 now, from, total, device;

	if (!s)
		return;
	now = bpf_ktime_get_ns();
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
	__sync_fetch_and_add(&lat->count, 1);
	__sync_fetch_and_add(&lat->total_ns, total);
	__sync_fetch_and_add(&lat->device_ns, device);
	__sync_fetch_and_add(&lat->total_hist[hist_slot_ns(total)], 1);
	__sync_fetch_and_add(&lat->device_hist[hist_slot_ns(device)], 1);
	if (total >= slow_ns)
		emit_slow(k, s, flags, total, device, now);
done:
	bpf_map_delete_elem(&io_starts, &rq);
}

/* A (possibly partial) completion: bytes always, the op and its latency once the
 * request has no bytes left. */
static __always_inline int on_complete(struct request *rq, __u64 owner, __u32 dev, __u32 cmd_flags,
				       __u32 remaining, __u32 nr_bytes)
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
	bool last = nr_bytes >= remaining;

	if (!st) {
		__sync_fetch_and_add(&health.map_full, 1);
	} else {
		__sync_fetch_and_add(&st->bytes, nr_bytes);
		if (last)
			__sync_fetch_and_add(&st->ops, 1);
	}
	if (last)
		record_latency(&k, (__u64)rq, flags);
	return 0;
}

static __always_inline struct request *rq_arg(unsigned long long *ctx)
{
	return rq_is_second_arg ? (struct request *)ctx[1] : (struct request *)ctx[0];
}

static __always_inline int start_btf(void *ctx, struct request *rq, bool insert)
{
	struct rq_view v = { .owner = rq_owner_btf(rq), .sector = rq->__sector, .bytes = rq->__data_len };

	return on_start(ctx, rq, &v, insert);
}

static __always_inline int start_core(void *ctx, struct request *rq, bool insert)
{
	struct rq_view v = {
		.owner = rq_owner_core(rq),
		.sector = BPF_CORE_READ(rq, __sector),
		.bytes = BPF_CORE_READ(rq, __data_len),
	};

	return on_start(ctx, rq, &v, insert);
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
	return on_complete(rq, rq_owner_btf(rq), rq_dev_btf(rq), rq->cmd_flags, rq->__data_len, nr_bytes);
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
			   BPF_CORE_READ(rq, __data_len), nr_bytes);
}

/* Structures the io probe shares with bpf/crosstalk.c. */
#ifndef CROSSTALK_IO_H
#define CROSSTALK_IO_H

#include "common.h"

/* Operation classes (REQ_OP_* values have been stable since 4.10). */
enum ct_io_op {
	CT_IO_READ = 0,
	CT_IO_WRITE = 1,
	CT_IO_FLUSH = 2,
	CT_IO_DISCARD = 3,
	CT_IO_OTHER = 4,
};

/* Request flags in a stable encoding (the kernel's bit numbers move between
 * versions; the probe maps them with CO-RE). */
#define CT_IO_F_SYNC (1u << 0)
#define CT_IO_F_META (1u << 1)
#define CT_IO_F_READAHEAD (1u << 2)
#define CT_IO_F_FUA (1u << 3)
#define CT_IO_F_PREFLUSH (1u << 4)

/* Aggregates are keyed by the IO's owner (the bio's blkcg), disk, op and sync flag. */
struct ct_io_key {
	__u64 cgroup;   /* blkcg's cgroup id: the blkio hierarchy on v1, unified on v2 */
	__u32 dev;      /* disk, kernel encoding: major << 20 | minor */
	__u8 op;        /* enum ct_io_op */
	__u8 sync;      /* 1 when REQ_SYNC */
	__u16 pad;
};

/* Every owner (aggressor view). */
struct ct_io_stats {
	__u64 ops;      /* completed requests */
	__u64 bytes;
};

/* Victim owners only. "total" runs from insert (when the request went through an IO
 * scheduler) or else from issue, to completion; "device" from issue to completion.
 * "delayed" is the part of total during which other owners' requests were in flight on
 * the same device (queued ahead of it or being served): the IO twin of a run-queue
 * wait, split among those owners in struct ct_io_delay. */
struct ct_io_latency {
	__u64 count;
	__u64 total_ns;
	__u64 device_ns;
	__u64 delayed_ns;
	__u64 unattributed_ns;  /* part of delayed_ns whose owner was no longer tracked, or
				 * whose pair the full io_delays map could not count */
	__u64 total_hist[CT_HIST_SLOTS];
	__u64 device_hist[CT_HIST_SLOTS];
};

/* Owners tracked per device at once: a victim request's delay is split among them. An
 * owner beyond them is not counted in flight (health.map_full); a slot reused while a
 * victim request was outstanding leaves that owner's part unattributed. */
#define CT_IO_OWNERS 8

/* A victim request's time in flight beside one other owner's requests on its device
 * (the victim's key is its io_latency key's cgroup; holder 0: no owner, e.g. a flush). */
struct ct_io_delay_key {
	__u64 victim;
	__u64 holder;
	__u32 dev;
	__u32 pad;
};

struct ct_io_delay {
	__u64 ns;
	__u64 requests;     /* victim requests that overlapped the holder's */
};

/* A victim's request in flight, keyed by its struct request pointer. */
struct ct_io_start {
	__u64 insert_ns;    /* 0 when it was issued without an IO scheduler */
	__u64 issue_ns;
	__u64 sector;
	__u64 bytes;
	__u32 pid;          /* task that inserted or issued it */
	__s32 stack_id;
	char comm[CT_COMM_LEN];
	/* The device's clocks when it started (see io.bpf.c): its delay is their advance. */
	__u64 contended_ns;
	__u64 share_ns[CT_IO_OWNERS];
	__u32 gen[CT_IO_OWNERS];
};

/* A victim's request slower than the threshold: biosnoop's columns plus its owner. */
struct ct_io_event {
	__u64 time_ns;      /* CLOCK_MONOTONIC at completion */
	__u64 total_ns;
	__u64 device_ns;
	__u64 sector;
	__u64 bytes;
	__u64 cgroup_id;
	__u32 pid;
	__u32 dev;
	__u32 flags;        /* CT_IO_F_* */
	__s32 stack_id;     /* kernel stack at insert/issue; negative errno when none */
	__u8 op;            /* enum ct_io_op */
	__u8 pad[7];
	char comm[CT_COMM_LEN];
};

#endif

// SPDX-License-Identifier: GPL-2.0
/* lifecycle probe: every cgroup_mkdir / cgroup_rmdir, in every hierarchy, sent to user
 * space at once. User space learns about new containers immediately and keeps a dead
 * cgroup's counters (tombstone) until they have been read once more. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lifecycle.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} cgroup_events SEC(".maps");

struct ct_health health = {};

static __always_inline int emit(__u32 kind, __u64 id, int hierarchy_id, int level, const char *path)
{
	struct ct_cgroup_event *e = bpf_ringbuf_reserve(&cgroup_events, sizeof(*e), 0);
	long n;

	if (!e) {
		__sync_fetch_and_add(&health.events_dropped, 1);
		return 0;
	}
	e->time_ns = bpf_ktime_get_ns();
	e->cgroup_id = id;
	e->kind = kind;
	e->hierarchy_id = hierarchy_id;
	e->level = level;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	if (n < 0)
		e->path[0] = '\0';
	e->path_truncated = n == sizeof(e->path);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(lifecycle_mkdir_btf, struct cgroup *cgrp, const char *path)
{
	return emit(CT_CGROUP_MKDIR, cgrp->kn->id, cgrp->root->hierarchy_id, cgrp->level, path);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(lifecycle_rmdir_btf, struct cgroup *cgrp, const char *path)
{
	return emit(CT_CGROUP_RMDIR, cgrp->kn->id, cgrp->root->hierarchy_id, cgrp->level, path);
}

SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(lifecycle_mkdir_raw, struct cgroup *cgrp, const char *path)
{
	return emit(CT_CGROUP_MKDIR, BPF_CORE_READ(cgrp, kn, id), BPF_CORE_READ(cgrp, root, hierarchy_id),
		    BPF_CORE_READ(cgrp, level), path);
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(lifecycle_rmdir_raw, struct cgroup *cgrp, const char *path)
{
	return emit(CT_CGROUP_RMDIR, BPF_CORE_READ(cgrp, kn, id), BPF_CORE_READ(cgrp, root, hierarchy_id),
		    BPF_CORE_READ(cgrp, level), path);
}

/* Records the lifecycle probe sends to user space (bpf/crosstalk.c). */
#ifndef CROSSTALK_LIFECYCLE_H
#define CROSSTALK_LIFECYCLE_H

#include "common.h"

#define CT_CGROUP_PATH_LEN 512

enum ct_cgroup_event_kind {
	CT_CGROUP_MKDIR = 1,
	CT_CGROUP_RMDIR = 2,
};

struct ct_cgroup_event {
	__u64 time_ns;          /* CLOCK_MONOTONIC */
	__u64 cgroup_id;        /* kernfs id: unique within its hierarchy */
	__u32 kind;             /* enum ct_cgroup_event_kind */
	__s32 hierarchy_id;     /* 0: unified (v2); v1 hierarchies as in /proc/cgroups */
	__u32 level;            /* depth below the hierarchy's root */
	__u32 path_truncated;   /* path did not fit and was cut */
	char path[CT_CGROUP_PATH_LEN]; /* path within its hierarchy */
};

#endif

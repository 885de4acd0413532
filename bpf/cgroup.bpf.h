/* The unified-hierarchy (v2) cgroup id of a task: its kernfs node id, which is also the
 * inode number of the cgroup directory. Read for the task an event is about, never
 * for the current task unless that is the subject. */
#ifndef CROSSTALK_CGROUP_BPF_H
#define CROSSTALK_CGROUP_BPF_H

#include <bpf/bpf_core_read.h>

/* tp_btf: plain loads through BTF-typed pointers (a probe read per hop costs ~100 ns
 * more per event on the development VM, see README). */
#define task_cgroup_btf(t) ((t)->cgroups->dfl_cgrp->kn->id)
#define task_cgroup_core(t) BPF_CORE_READ((t), cgroups, dfl_cgrp, kn, id)

#endif

// SPDX-License-Identifier: GPL-2.0
/* The probes, in enum ct_probe order: the one list a new probe joins (and, on the
 * kernel-module backend, the module's side of each). */
#include "session.h"

static const struct ct_probe_ops *const probe_ops[CT_PROBE_COUNT] = {
	[CT_PROBE_CPU] = &ct_cpu_ops,
	[CT_PROBE_IO] = &ct_io_ops,
	[CT_PROBE_MEMORY] = &ct_memory_ops,
	[CT_PROBE_CACHE] = &ct_cache_ops,
	[CT_PROBE_LIFECYCLE] = &ct_lifecycle_ops,
};

static const struct ct_probe_ops *const kmod_probe_ops[CT_PROBE_COUNT] = {
	[CT_PROBE_CPU] = &ct_kmod_cpu_ops,
	[CT_PROBE_IO] = &ct_kmod_io_ops,
	[CT_PROBE_MEMORY] = &ct_kmod_memory_ops,
	[CT_PROBE_CACHE] = &ct_kmod_cache_ops,
	[CT_PROBE_LIFECYCLE] = &ct_kmod_lifecycle_ops,
};

const struct ct_probe_ops *ct_probe_ops_of(int probe, bool kmod)
{
	return kmod ? kmod_probe_ops[probe] : probe_ops[probe];
}

const char *ct_probe_name(int probe)
{
	return probe >= 0 && probe < CT_PROBE_COUNT ? probe_ops[probe]->name : "crosstalk";
}

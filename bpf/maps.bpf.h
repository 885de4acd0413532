/* Map helpers every probe uses. */
#ifndef CROSSTALK_MAPS_BPF_H
#define CROSSTALK_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/* Returns the value for key, creating it from init when absent. NULL when the map is
 * full: callers count that as an overflow so user space can report the probe degraded. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	/* BPF_NOEXIST: another CPU may have inserted it meanwhile, which is fine. */
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif

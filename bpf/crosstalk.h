/* crosstalk's C interface to its kernel probes: open, set targets, attach, read a
 * window, close. The native addon (agent/native) is its only caller; it never sees
 * libbpf. Every function returns 0 or a negative errno and fills struct ct_error. */
#ifndef CROSSTALK_H
#define CROSSTALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ct_probe {
	CT_PROBE_CPU = 0,
	CT_PROBE_COUNT,
};

struct ct_options {
	uint32_t probes;       /* bit (1 << enum ct_probe) per probe to load */
	const char *btf_path;  /* kernel BTF for CO-RE; NULL means the running kernel's */
};

struct ct_error {
	int err;               /* negative errno */
	int probe;             /* enum ct_probe, or -1 when no single probe failed */
	char op[16];           /* "open", "load", "attach", "read" ... */
	char message[512];
};

/* Window buffer: a sequence of sections, each a header followed by count records of
 * record_size bytes. Mirrored in agent/native/layout.ts. */
enum ct_section_kind {
	CT_SECTION_CPU = 1,    /* struct ct_cpu_record */
};

struct ct_section_header {
	uint32_t kind;
	uint32_t count;
	uint32_t record_size;
	uint32_t reserved;
};

struct ct_cpu_record {
	uint64_t cgroup_id;
	uint64_t switches_in;  /* cumulative since the probe was loaded */
};

struct ct_session;

int ct_open(const struct ct_options *opts, struct ct_session **out, struct ct_error *err);
int ct_attach(struct ct_session *s, struct ct_error *err);
/* Writes the cumulative counters into buf; returns the bytes used or a negative errno
 * (-ENOSPC when buf is too small: call again with a larger one). */
ssize_t ct_read_window(struct ct_session *s, void *buf, size_t len, struct ct_error *err);
void ct_close(struct ct_session *s);

const char *ct_probe_name(int probe);

#endif

// SPDX-License-Identifier: GPL-2.0
/* Loads, attaches and reads crosstalk's probes through their libbpf skeletons. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include "crosstalk.h"
#include "cpu.h"
#include "cpu.skel.h"

struct ct_session {
	struct cpu_bpf *cpu;
	int ncpus;
};

static const char *const probe_names[CT_PROBE_COUNT] = {
	[CT_PROBE_CPU] = "cpu",
};

const char *ct_probe_name(int probe)
{
	return probe >= 0 && probe < CT_PROBE_COUNT ? probe_names[probe] : "crosstalk";
}

/* libbpf explains most failures only through its print callback: keep its first
 * warning since the current operation began (the cause; later ones are consequences)
 * so the error we return says why, and stay quiet otherwise. */
static __thread char libbpf_first[256];

static int keep_libbpf_message(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (getenv("CROSSTALK_BPF_DEBUG"))
		vfprintf(stderr, fmt, args);
	if (!libbpf_first[0]) {
		vsnprintf(libbpf_first, sizeof(libbpf_first), fmt, args);
		libbpf_first[strcspn(libbpf_first, "\n")] = '\0';
	}
	return 0;
}

static int fail(struct ct_error *e, int err, int probe, const char *op, const char *fmt, ...)
{
	va_list args;
	int n;

	if (err > 0)
		err = -err;
	if (err == 0)
		err = -EINVAL;
	e->err = err;
	e->probe = probe;
	snprintf(e->op, sizeof(e->op), "%s", op);
	va_start(args, fmt);
	n = vsnprintf(e->message, sizeof(e->message), fmt, args);
	va_end(args);
	if (n >= 0 && (size_t)n < sizeof(e->message) && libbpf_first[0])
		snprintf(e->message + n, sizeof(e->message) - n, " (%s)", libbpf_first);
	return err;
}

/* Explains the errno a failed load most often means, so users know what to grant. */
static const char *load_hint(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		return "loading eBPF needs root or CAP_BPF + CAP_PERFMON";
	case ENOENT:
	case ESRCH:
		return "kernel BTF is missing or does not match (needs CONFIG_DEBUG_INFO_BTF=y)";
	case EINVAL:
		return "the kernel rejected the program";
	default:
		return -err >= __LIBBPF_ERRNO__START ? "libbpf rejected the object" : strerror(-err);
	}
}

/* Whether this kernel can attach a BTF-typed (tp_btf) program to the tracepoint, the
 * way libbpf-tools decides between tp_btf and raw_tp before loading. */
static int tp_btf_supported(const char *tracepoint, const char *btf_path)
{
	char type_name[128];
	struct btf *vmlinux;
	int type_id, fd;
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);

	vmlinux = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	if (!vmlinux)
		return 0;
	snprintf(type_name, sizeof(type_name), "btf_trace_%s", tracepoint);
	type_id = btf__find_by_name_kind(vmlinux, type_name, BTF_KIND_TYPEDEF);
	btf__free(vmlinux);
	if (type_id <= 0)
		return 0;
	opts.attach_btf_id = type_id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int open_cpu(struct ct_session *s, const struct ct_options *o, struct ct_error *e)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path);
	int use_btf, err;

	s->cpu = cpu_bpf__open_opts(&open_opts);
	if (!s->cpu)
		return fail(e, -errno, CT_PROBE_CPU, "open", "cannot open the cpu probe");
	use_btf = tp_btf_supported("sched_switch", o->btf_path);
	bpf_program__set_autoload(s->cpu->progs.cpu_switch_btf, use_btf);
	bpf_program__set_autoload(s->cpu->progs.cpu_switch_raw, !use_btf);
	err = cpu_bpf__load(s->cpu);
	if (err)
		return fail(e, err, CT_PROBE_CPU, "load", "cannot load the cpu probe: %s", load_hint(err));
	return 0;
}

int ct_open(const struct ct_options *o, struct ct_session **out, struct ct_error *e)
{
	struct ct_session *s;
	int err;

	memset(e, 0, sizeof(*e));
	e->probe = -1;
	libbpf_first[0] = '\0';
	libbpf_set_print(keep_libbpf_message);
	if (o->btf_path && access(o->btf_path, R_OK) != 0)
		return fail(e, -errno, -1, "open", "kernel BTF %s is not readable", o->btf_path);
	if (!o->btf_path && access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return fail(e, -errno, -1, "open",
			    "/sys/kernel/btf/vmlinux is missing: crosstalk needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	s = calloc(1, sizeof(*s));
	if (!s)
		return fail(e, -ENOMEM, -1, "open", "out of memory");
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = fail(e, s->ncpus, -1, "open", "cannot count possible CPUs");
		goto fail_free;
	}
	if (o->probes & (1u << CT_PROBE_CPU)) {
		err = open_cpu(s, o, e);
		if (err)
			goto fail_free;
	}
	*out = s;
	return 0;
fail_free:
	ct_close(s);
	return err;
}

int ct_attach(struct ct_session *s, struct ct_error *e)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->probe = -1;
	libbpf_first[0] = '\0';
	if (s->cpu) {
		err = cpu_bpf__attach(s->cpu);
		if (err)
			return fail(e, err, CT_PROBE_CPU, "attach", "cannot attach the cpu probe to sched_switch");
	}
	return 0;
}

/* Appends one section with every cgroup's counters summed over CPUs. */
static ssize_t read_cpu(struct ct_session *s, char *buf, size_t len, struct ct_error *e)
{
	struct ct_section_header *h = (struct ct_section_header *)buf;
	struct ct_cpu_record *rec = (struct ct_cpu_record *)(h + 1);
	struct ct_cpu_stats *percpu;
	int fd = bpf_map__fd(s->cpu->maps.cpu_stats);
	__u64 key, *prev = NULL;
	size_t room;
	uint32_t n = 0;
	int err = 0;

	if (len < sizeof(*h))
		return -ENOSPC;
	room = (len - sizeof(*h)) / sizeof(*rec);
	percpu = calloc(s->ncpus, sizeof(*percpu));
	if (!percpu)
		return fail(e, -ENOMEM, CT_PROBE_CPU, "read", "out of memory");
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, percpu) != 0)
			continue; /* removed between get_next_key and lookup */
		if (n == room) {
			err = -ENOSPC;
			break;
		}
		rec[n].cgroup_id = key;
		rec[n].switches_in = 0;
		for (int cpu = 0; cpu < s->ncpus; cpu++)
			rec[n].switches_in += percpu[cpu].switches_in;
		n++;
	}
	free(percpu);
	if (err)
		return err;
	*h = (struct ct_section_header){ .kind = CT_SECTION_CPU, .count = n, .record_size = sizeof(*rec) };
	return sizeof(*h) + (size_t)n * sizeof(*rec);
}

ssize_t ct_read_window(struct ct_session *s, void *buf, size_t len, struct ct_error *e)
{
	size_t used = 0;
	ssize_t n;

	memset(e, 0, sizeof(*e));
	e->probe = -1;
	if (s->cpu) {
		n = read_cpu(s, (char *)buf + used, len - used, e);
		if (n == -ENOSPC)
			return fail(e, n, CT_PROBE_CPU, "read", "window buffer too small");
		if (n < 0)
			return n;
		used += n;
	}
	return used;
}

void ct_close(struct ct_session *s)
{
	if (!s)
		return;
	cpu_bpf__destroy(s->cpu);
	free(s);
}

// SPDX-License-Identifier: GPL-2.0
/* What the running kernel offers a probe: its tracepoints, read from kernel BTF, and
 * whether BTF-typed (tp_btf) programs can attach to them; the blkio controller's
 * hierarchy; and the map sizes a probe is loaded with. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "session.h"

/* The FUNC_PROTO behind btf_trace_<tracepoint>, or NULL when the kernel lacks it. */
static const struct btf_type *tracepoint_proto(const struct ct_session *s, const char *tracepoint, int *type_id)
{
	char name[128];
	const struct btf_type *t;
	int id;

	if (!s->vmlinux_btf)
		return NULL;
	snprintf(name, sizeof(name), "btf_trace_%s", tracepoint);
	id = btf__find_by_name_kind(s->vmlinux_btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return NULL;
	if (type_id)
		*type_id = id;
	t = btf__type_by_id(s->vmlinux_btf, id);
	t = t ? btf__type_by_id(s->vmlinux_btf, t->type) : NULL; /* typedef -> pointer */
	t = t && btf_is_ptr(t) ? btf__type_by_id(s->vmlinux_btf, t->type) : NULL;
	return t && btf_is_func_proto(t) ? t : NULL;
}

bool ct_tracepoint_exists(const struct ct_session *s, const char *tracepoint)
{
	return tracepoint_proto(s, tracepoint, NULL) != NULL;
}

int ct_tracepoint_arity(const struct ct_session *s, const char *tracepoint)
{
	const struct btf_type *proto = tracepoint_proto(s, tracepoint, NULL);

	return proto ? btf_vlen(proto) - 1 : -1;
}

/* Whether this kernel can attach a BTF-typed (tp_btf) program to the tracepoint: a
 * two-instruction program is loaded against it, as libbpf-tools does. */
static bool tp_btf_supported(const struct ct_session *s, const char *tracepoint)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	int type_id = 0, fd;

	if (!tracepoint_proto(s, tracepoint, &type_id))
		return false;
	opts.attach_btf_id = type_id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool ct_choose_attach_mode(struct ct_session *s, int probe, struct bpf_object *obj, const char *tracepoint,
			   const struct ct_options *o)
{
	bool use_btf = !(o->flags & CT_OPT_FORCE_RAW_TP) && tp_btf_supported(s, tracepoint);
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);

		if (has_suffix(name, "_btf"))
			bpf_program__set_autoload(prog, use_btf);
		else if (has_suffix(name, "_raw"))
			bpf_program__set_autoload(prog, !use_btf);
	}
	s->status[probe].attach_mode = use_btf ? CT_ATTACH_TP_BTF : CT_ATTACH_RAW_TP;
	return use_btf;
}


/* Maps sized per cgroup or per pair are the ones a node with many cgroups fills; the
 * other maps are sized per request, device or CPU. */
static bool sized_per_cgroup(const struct bpf_map *map)
{
	__u32 n = bpf_map__max_entries(map);

	return bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF && (n == CT_MAX_CGROUPS || n == CT_MAX_PAIRS);
}

int ct_apply_test_sizes(struct bpf_object *obj, const struct ct_options *o)
{
	struct bpf_map *map;
	int err = 0;

	bpf_object__for_each_map(map, obj) {
		if (o->test_ring_bytes && bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF)
			err = bpf_map__set_max_entries(map, o->test_ring_bytes);
		else if (o->test_map_entries && sized_per_cgroup(map))
			err = bpf_map__set_max_entries(map, o->test_map_entries);
		if (err)
			return err;
	}
	return 0;
}

int ct_blkio_hierarchy(void)
{
	FILE *f = fopen("/proc/cgroups", "r");
	char line[256], name[64];
	int hierarchy = CT_UNIFIED_HIERARCHY, id;

	if (!f)
		return hierarchy;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d", name, &id) == 2 && strcmp(name, "blkio") == 0)
			hierarchy = id;
	fclose(f);
	return hierarchy;
}

// SPDX-License-Identifier: GPL-2.0
/* Errors: every failure is a negative errno with the operation and a message that says
 * why (libbpf's own explanation appended when it gave one), for the session's caller or
 * in a probe's status. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "session.h"

/* libbpf explains most failures only through its print callback: keep its first
 * warning since the current operation began (the cause; later ones are consequences)
 * so the error we return says why, and stay quiet otherwise. */
static __thread char libbpf_first[256];

static int keep_libbpf_message(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (getenv("CROSSTALK_BPF_DEBUG")) {
		va_list copy;

		va_copy(copy, args);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (!libbpf_first[0]) {
		vsnprintf(libbpf_first, sizeof(libbpf_first), fmt, args);
		libbpf_first[strcspn(libbpf_first, "\n")] = '\0';
	}
	return 0;
}

void ct_libbpf_message_reset(void)
{
	libbpf_first[0] = '\0';
	libbpf_set_print(keep_libbpf_message);
}

static int vformat(char *buf, size_t size, const char *fmt, va_list args)
{
	int n = vsnprintf(buf, size, fmt, args);

	if (n >= 0 && (size_t)n + 4 < size && libbpf_first[0])
		snprintf(buf + n, size - n, " (%.*s)", (int)(size - n - 4), libbpf_first);
	return n;
}

static int negative_errno(int err)
{
	if (err > 0)
		err = -err;
	return err ? err : -EINVAL;
}

int ct_fail(struct ct_error *e, int err, int probe, const char *op, const char *fmt, ...)
{
	va_list args;

	err = negative_errno(err);
	e->err = err;
	e->probe = probe;
	snprintf(e->op, sizeof(e->op), "%s", op);
	va_start(args, fmt);
	vformat(e->message, sizeof(e->message), fmt, args);
	va_end(args);
	return err;
}

int ct_probe_fail(struct ct_session *s, int probe, int state, int err, const char *op, const char *fmt, ...)
{
	struct ct_probe_status *st = &s->status[probe];
	va_list args;

	err = negative_errno(err);
	st->state = state;
	st->err = err;
	snprintf(st->op, sizeof(st->op), "%s", op);
	va_start(args, fmt);
	vformat(st->message, sizeof(st->message), fmt, args);
	va_end(args);
	return err;
}

/* Explains the errno a failed load most often means, so users know what to grant. */
static const char *load_hint(int err)
{
	switch (-err) {
	case EPERM:
		return "loading eBPF needs root or CAP_BPF + CAP_PERFMON";
	case EACCES:
		return "the verifier rejected the program";
	case ENOENT:
	case ESRCH:
		return "kernel BTF is missing or does not match (needs CONFIG_DEBUG_INFO_BTF=y)";
	case EINVAL:
		return "the kernel rejected the program";
	default:
		return -err >= __LIBBPF_ERRNO__START ? "libbpf rejected the object" : strerror(-err);
	}
}

int ct_load_failed(struct ct_session *s, int probe, int err)
{
	return ct_probe_fail(s, probe, CT_STATE_FAILED, err, "load", "cannot load the %s probe: %s",
			     ct_probe_name(probe), load_hint(negative_errno(err)));
}

void ct_error_reset(struct ct_error *e)
{
	memset(e, 0, sizeof(*e));
	e->probe = -1;
	ct_libbpf_message_reset();
}

// SPDX-License-Identifier: GPL-2.0
/* crosstalk's kernel-module backend: /dev/crosstalk, one session at a time. Opening the
 * device starts a session with zeroed counters; CTK_IOC_ENABLE registers the requested
 * probes' tracepoints; closing it unregisters them, waits for every probe in flight
 * (tracepoint_synchronize_unregister) and clears every probe's state: the tables, enqueue
 * stamps, reclaim begin times and requests in flight. The ABI is in crosstalk-kmod.h and
 * kmod/README.md. */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "ctk.h"

#define CTK_MAX_FORGET 65536

bool ctk_stats_enabled;
module_param_named(stats, ctk_stats_enabled, bool, 0644);
MODULE_PARM_DESC(stats, "time every probe run (ns per event in CTK_IOC_STATS), like kernel.bpf_stats_enabled");

static DEFINE_MUTEX(ctk_lock); /* ioctls and read() of the open session */
static unsigned long ctk_busy;  /* bit 0: the device is open */
static u32 ctk_available;       /* CTK_PROBE_* whose tracepoints exist */
static u32 ctk_registered;      /* CTK_PROBE_* registered now */
static bool ctk_memcg;          /* the memcg reclaim tracepoints exist */

struct find_tracepoint {
	const char *name;
	struct tracepoint *found;
};

static void match_tracepoint(struct tracepoint *tp, void *priv)
{
	struct find_tracepoint *q = priv;

	if (!strcmp(tp->name, q->name))
		q->found = tp;
}

struct tracepoint *ctk_tracepoint(const char *name)
{
	struct find_tracepoint q = { .name = name };

	for_each_kernel_tracepoint(match_tracepoint, &q);
	return q.found;
}

static int ctk_open(struct inode *inode, struct file *file)
{
	if (test_and_set_bit(0, &ctk_busy))
		return -EBUSY;
	return 0;
}

static void unregister_all(void)
{
	if (ctk_registered & CTK_PROBE_CPU)
		ctk_sched_unregister();
	if (ctk_registered & CTK_PROBE_LIFECYCLE)
		ctk_lifecycle_unregister();
	if (ctk_registered & CTK_PROBE_MEMORY)
		ctk_memory_unregister();
	if (ctk_registered & CTK_PROBE_IO)
		ctk_io_unregister();
	if (ctk_registered)
		tracepoint_synchronize_unregister();
	ctk_registered = 0;
}

static int ctk_release(struct inode *inode, struct file *file)
{
	mutex_lock(&ctk_lock);
	unregister_all();
	ctk_targets_free();
	ctk_tables_reset();
	ctk_stamps_clear();
	ctk_reclaim_starts_clear();
	ctk_io_clear();
	mutex_unlock(&ctk_lock);
	clear_bit(0, &ctk_busy);
	return 0;
}

static long do_enable(const struct ctk_enable *a)
{
	u32 want = a->probes & ~ctk_registered;
	int err = 0;

	if (a->probes & ~ctk_available)
		return -EOPNOTSUPP;
	if (a->flags & ~CTK_ENABLE_RUNQ_EVENTS)
		return -EINVAL;
	if (want & CTK_PROBE_CPU) {
		err = ctk_sched_register(a->flags & CTK_ENABLE_RUNQ_EVENTS, a->runq_slow_ns);
		if (err)
			return err;
		ctk_registered |= CTK_PROBE_CPU;
	}
	if (want & CTK_PROBE_LIFECYCLE) {
		err = ctk_lifecycle_register();
		if (err)
			return err;
		ctk_registered |= CTK_PROBE_LIFECYCLE;
	}
	if (want & CTK_PROBE_MEMORY) {
		err = ctk_memory_register(a->reclaim_slow_ns);
		if (err)
			return err;
		ctk_registered |= CTK_PROBE_MEMORY;
	}
	if (want & CTK_PROBE_IO) {
		err = ctk_io_register(a->io_slow_ns);
		if (err)
			return err;
		ctk_registered |= CTK_PROBE_IO;
	}
	return 0;
}

static long do_forget(const struct ctk_forget *a)
{
	u64 *ids;

	if (a->count > CTK_MAX_FORGET)
		return -E2BIG;
	if (!a->count)
		return 0;
	ids = kvmalloc_array(a->count, sizeof(*ids), GFP_KERNEL);
	if (!ids)
		return -ENOMEM;
	if (copy_from_user(ids, u64_to_user_ptr(a->ids), a->count * sizeof(*ids))) {
		kvfree(ids);
		return -EFAULT;
	}
	ctk_tables_forget(ids, a->count);
	kvfree(ids);
	return 0;
}

static void add_health(struct ct_health *to, const struct ct_health *from)
{
	to->map_full += READ_ONCE(from->map_full);
	to->events_dropped += READ_ONCE(from->events_dropped);
	to->stack_errors += READ_ONCE(from->stack_errors);
	to->read_errors += READ_ONCE(from->read_errors);
}

static void do_stats(struct ctk_stats *a)
{
	int cpu, h;

	for_each_possible_cpu(cpu) {
		const struct ctk_cpu *c = per_cpu_ptr(ctk_cpus, cpu);

		add_health(&a->cpu, &c->cpu_health);
		add_health(&a->lifecycle, &c->lifecycle_health);
		add_health(&a->memory, &c->memory_health);
		add_health(&a->io, &c->io_health);
		for (h = 0; h < CTK_HOOKS; h++) {
			a->run_ns[h] += READ_ONCE(c->run_ns[h]);
			a->run_count[h] += READ_ONCE(c->run_count[h]);
		}
	}
}

static void do_info(struct ctk_info *a)
{
	a->probes = ctk_available;
	a->ncpus = nr_cpu_ids;
	a->max_targets = CT_MAX_TARGETS;
	a->cgroup_slots = 1u << CTK_CGROUP_BITS;
	a->victim_slots = 1u << CTK_VICTIM_BITS;
	a->pair_slots = 1u << CTK_PAIR_BITS;
	a->event_slots = CTK_EVENT_SLOTS;
	a->reclaim_slots = 1u << CTK_RECLAIM_BITS;
	a->memcg = ctk_memcg;
	a->io_stats_slots = 1u << CTK_IO_STATS_BITS;
	a->io_latency_slots = 1u << CTK_IO_LATENCY_BITS;
	a->io_delay_slots = 1u << CTK_IO_DELAY_BITS;
	a->io_devices = CTK_IO_DEVICES;
	a->io_requests = CTK_IO_REQUESTS;
}

union ctk_arg {
	struct ctk_head head;
	struct ctk_info info;
	struct ctk_enable enable;
	struct ctk_targets targets;
	struct ctk_read read;
	struct ctk_forget forget;
	struct ctk_stats stats;
};

/* The argument size of each command number; 0: no such command. */
static size_t arg_size(unsigned int nr)
{
	switch (nr) {
	case _IOC_NR(CTK_IOC_INFO):
		return sizeof(struct ctk_info);
	case _IOC_NR(CTK_IOC_ENABLE):
		return sizeof(struct ctk_enable);
	case _IOC_NR(CTK_IOC_TARGETS):
		return sizeof(struct ctk_targets);
	case _IOC_NR(CTK_IOC_READ):
		return sizeof(struct ctk_read);
	case _IOC_NR(CTK_IOC_FORGET):
		return sizeof(struct ctk_forget);
	case _IOC_NR(CTK_IOC_STATS):
		return sizeof(struct ctk_stats);
	default:
		return 0;
	}
}

static long dispatch(unsigned int cmd, union ctk_arg *a)
{
	switch (cmd) {
	case CTK_IOC_INFO:
		do_info(&a->info);
		return 0;
	case CTK_IOC_ENABLE:
		return do_enable(&a->enable);
	case CTK_IOC_TARGETS:
		if (a->targets.flags & ~CTK_TARGETS_ALL)
			return -EINVAL;
		return ctk_targets_set(u64_to_user_ptr(a->targets.ids), a->targets.count,
				       a->targets.flags & CTK_TARGETS_ALL);
	case CTK_IOC_READ:
		return ctk_tables_read(&a->read);
	case CTK_IOC_FORGET:
		return do_forget(&a->forget);
	case CTK_IOC_STATS:
		do_stats(&a->stats);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* Size-checked twice (the command's encoded size and head.size) and versioned. */
static long ctk_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	size_t size = _IOC_TYPE(cmd) == CTK_IOC_MAGIC ? arg_size(_IOC_NR(cmd)) : 0;
	void __user *uarg = (void __user *)arg;
	union ctk_arg a;
	long err;

	if (!size)
		return -ENOTTY;
	if (_IOC_SIZE(cmd) != size)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	if (copy_from_user(&a, uarg, size))
		return -EFAULT;
	if (a.head.size != size)
		return -EINVAL;
	if (a.head.version != CTK_ABI_VERSION)
		return -EPROTO;
	mutex_lock(&ctk_lock);
	err = dispatch(cmd, &a);
	mutex_unlock(&ctk_lock);
	/* Read results go back even on -ENOSPC: needed says how much room to give. */
	if ((_IOC_DIR(cmd) & _IOC_READ) && (!err || err == -ENOSPC) && copy_to_user(uarg, &a, size))
		return -EFAULT;
	return err;
}

static ssize_t ctk_read(struct file *file, char __user *buf, size_t len, loff_t *off)
{
	ssize_t n;

	mutex_lock(&ctk_lock);
	n = ctk_events_read(buf, len);
	mutex_unlock(&ctk_lock);
	return n;
}

static const struct file_operations ctk_fops = {
	.owner = THIS_MODULE,
	.open = ctk_open,
	.release = ctk_release,
	.unlocked_ioctl = ctk_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = ctk_read,
	.llseek = noop_llseek,
};

static struct miscdevice ctk_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = CTK_DEVICE_NAME,
	.fops = &ctk_fops,
	.mode = 0600,
};

static int __init ctk_init(void)
{
	int err;

	if (!ctk_sched_find())
		ctk_available |= CTK_PROBE_CPU;
	if (!ctk_lifecycle_find())
		ctk_available |= CTK_PROBE_LIFECYCLE;
	if (!ctk_memory_find(&ctk_memcg))
		ctk_available |= CTK_PROBE_MEMORY;
	if (!ctk_io_find())
		ctk_available |= CTK_PROBE_IO;
	if (!ctk_available) {
		pr_err("crosstalk: none of the sched, cgroup, vmscan or block tracepoints found\n");
		return -ENOENT;
	}
	err = ctk_tables_alloc();
	if (err)
		return err;
	err = ctk_stamps_alloc();
	if (err)
		goto tables;
	err = ctk_reclaim_starts_alloc();
	if (err)
		goto stamps;
	err = ctk_io_alloc();
	if (err)
		goto starts;
	err = misc_register(&ctk_device);
	if (err)
		goto io;
	pr_info("crosstalk: /dev/%s ready (ABI %d, probes 0x%x%s)\n", CTK_DEVICE_NAME, CTK_ABI_VERSION, ctk_available,
		ctk_memcg ? ", memcg reclaim" : "");
	return 0;
io:
	ctk_io_free();
starts:
	ctk_reclaim_starts_free();
stamps:
	ctk_stamps_free();
tables:
	ctk_tables_free();
	return err;
}

static void __exit ctk_exit(void)
{
	misc_deregister(&ctk_device);
	/* The device is closed (it holds a module reference), so nothing is registered;
	 * wait anyway, so no probe of this module can still be running. */
	tracepoint_synchronize_unregister();
	ctk_targets_free();
	ctk_io_free();
	ctk_reclaim_starts_free();
	ctk_stamps_free();
	ctk_tables_free();
	pr_info("crosstalk: unloaded\n");
}

module_init(ctk_init);
module_exit(ctk_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("crosstalk: run-queue wait, IO delay and reclaim attribution and cgroup lifecycle via tracepoints");

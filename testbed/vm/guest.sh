#!/bin/bash
# Stage 2 of the VM lane's guest, run by stage 1 (init.sh) in a chroot of the host's root
# (read-only 9p + tmpfs overlay). Turns the guest into a pure cgroup-v2 node (every
# controller a kubelet uses enabled at the root, tracefs, debugfs, bpffs), points TMPDIR
# at a fresh ext4 virtio disk so scratch files hit a real block device, then runs the mocha
# suite the host asked for with the host's own Node, BPF objects and addon.
# The host reads the markers below from the serial console and the mocha output from
# the results share.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
results=/crosstalk-vm
mark() { echo "CROSSTALK-VM: $*"; }
fail() {
  mark "error $*"
  exit 1
}

mount -t proc proc /proc &&
  mount -t sysfs sysfs /sys &&
  mount -t devtmpfs devtmpfs /dev &&
  mkdir -p /dev/pts && mount -t devpts devpts /dev/pts &&
  mount -t tmpfs tmpfs /run || fail "cannot mount proc, sys, dev or run"
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2"
mount -t tracefs tracefs /sys/kernel/tracing &&
  mount -t debugfs debugfs /sys/kernel/debug &&
  mount -t bpf bpf /sys/fs/bpf || fail "cannot mount tracefs, debugfs or bpffs"
echo "+cpu +io +memory +cpuset +pids" >/sys/fs/cgroup/cgroup.subtree_control ||
  fail "cannot enable the cgroup2 controllers"
# The host formatted the disk just before boot, inode tables included, so no lazy-init
# writeback runs underneath the tests. Scratch files (TMPDIR) go there; /tmp itself is
# left alone, since the checkout may live under the host's /tmp.
mkdir -p /crosstalk-disk && mount -t ext4 /dev/vda /crosstalk-disk &&
  mkdir -m 1777 /crosstalk-disk/tmp || fail "cannot mount the test disk /dev/vda"
export TMPDIR=/crosstalk-disk/tmp

mark "kernel $(uname -r) $(uname -v)"
mark "controllers $(cat /sys/fs/cgroup/cgroup.controllers)"
mark "subtree_control $(cat /sys/fs/cgroup/cgroup.subtree_control)"
cd "$crosstalk_repo" || fail "the checkout $crosstalk_repo is not visible in the guest"
mark "addon $(sha256sum agent/native/build/Release/crosstalk.node | cut -d' ' -f1)"
# The very Node binary that runs the lane on the host.
export PATH="$crosstalk_node:$PATH"
mark "node $(node --version)"

mapfile -t args <"$results/mocha-args"
CROSSTALK_REQUIRE_ALL=1 node node_modules/mocha/bin/mocha.js --config testbed/vm/mocharc.json "${args[@]}" \
  >"$results/mocha.log" 2>&1
status=$?
sync
mark "exit $status"

#!/bin/sh
# Stage 1 of the VM lane's guest: /init of the busybox initramfs. Loads the virtio, 9p,
# ext4 and overlay modules, mounts the host's root (read-only over 9p) under a tmpfs
# overlay, mounts the writable results share, then runs stage 2 (crosstalk_guest=, a
# script read from the host) in a chroot of that root and powers off. Markers on the
# serial console ("CROSSTALK-VM: ...") are how the host learns what happened.
export PATH=/bin
mark() { echo "CROSSTALK-VM: $*"; }
die() {
  mark "error $*"
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Hardware-specific helpers (crc32c-intel) may refuse to load; the mounts below fail
# clearly if something they need is missing.
while read -r ko; do
  insmod "/modules/$ko" 2>/dev/null || mark "warning insmod $ko failed"
done </modules/order

mkdir -p /host /ovl /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host ||
  die "cannot mount the host root over virtio-9p"
mount -t tmpfs -o mode=0755 tmpfs /ovl && mkdir /ovl/upper /ovl/work || die "cannot set up the overlay tmpfs"
mount -t overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work overlay /newroot ||
  die "cannot mount the overlay over the host root"
mkdir -p /newroot/crosstalk-vm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /newroot/crosstalk-vm ||
  die "cannot mount the results share"
[ -r "/newroot$crosstalk_guest" ] || die "stage 2 script crosstalk_guest=$crosstalk_guest is not readable"

chroot /newroot /bin/bash "$crosstalk_guest"
sync
poweroff -f

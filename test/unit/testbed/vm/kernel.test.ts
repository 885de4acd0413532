import { expect } from 'chai';

import { parseImageAbi, parsePackageVersion, parseShowDepends } from '../../../../testbed/vm/kernel.js';

describe('vm lane kernel package', function () {
  it('reads the ABI the linux-image-amd64 metapackage depends on', function () {
    const depends = 'linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n';
    expect(parseImageAbi(depends)).to.equal('6.1.0-56-amd64');
  });

  it('finds no ABI when apt lists nothing (stale or empty package lists)', function () {
    expect(parseImageAbi('linux-image-amd64\n')).to.equal(undefined);
    expect(parseImageAbi('  Depends: linux-image-amd64-signed-template\n')).to.equal(undefined);
  });

  it('reads the package version from apt-cache show', function () {
    const show = 'Package: linux-image-6.1.0-56-amd64\nSource: linux-signed-amd64 (6.1.192+2)\nVersion: 6.1.192-2\n';
    expect(parsePackageVersion(show)).to.equal('6.1.192-2');
  });

  it('lists modprobe --show-depends modules once each, dependencies first, builtins skipped', function () {
    const output = [
      'insmod /k/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio_ring.ko ',
      'insmod /k/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio.ko ',
      'insmod /k/lib/modules/6.1.0-56-amd64/kernel/drivers/block/virtio_blk.ko ',
      'builtin crc32c',
      'insmod /k/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio_ring.ko ',
      'insmod /k/lib/modules/6.1.0-56-amd64/kernel/fs/overlayfs/overlay.ko redirect_dir=on',
      '',
    ].join('\n');
    expect(parseShowDepends(output)).to.deep.equal([
      '/k/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio_ring.ko',
      '/k/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio.ko',
      '/k/lib/modules/6.1.0-56-amd64/kernel/drivers/block/virtio_blk.ko',
      '/k/lib/modules/6.1.0-56-amd64/kernel/fs/overlayfs/overlay.ko',
    ]);
  });
});

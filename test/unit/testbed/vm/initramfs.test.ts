import { expect } from 'chai';

import { initramfsKey } from '../../../../testbed/vm/initramfs.js';

describe('vm lane initramfs cache key', function () {
  const inputs = {
    kernelDir: '/var/cache/crosstalk/vm-6.1.0-56-amd64-6.1.192-2',
    init: Buffer.from('#!/bin/sh\n'),
    busybox: Buffer.from('busybox 1.35'),
    modules: ['virtio_pci', 'ext4'],
  };

  it('is stable for the same inputs and changes when any input changes', function () {
    const key = initramfsKey(inputs);
    expect(initramfsKey({ ...inputs })).to.equal(key);
    expect(key).to.match(/^[0-9a-f]{16}$/);
    for (const changed of [
      { kernelDir: '/var/cache/crosstalk/vm-6.1.0-57-amd64-6.1.193-1' },
      { init: Buffer.from('#!/bin/sh\necho changed\n') },
      { busybox: Buffer.from('busybox 1.36') },
      { modules: ['virtio_pci', 'ext4', 'overlay'] },
    ]) {
      expect(initramfsKey({ ...inputs, ...changed })).not.to.equal(key);
    }
  });
});

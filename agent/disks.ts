// Names block devices the way people know them (vda, nvme0n1) from their device numbers.
import { readFileSync } from 'node:fs';

import type { BlockDevice } from './probes/index.js';

export function diskNamer(readUevent = (dev: string) => readFileSync(`/sys/dev/block/${dev}/uevent`, 'utf8')) {
  const names = new Map<string, string>();
  return (device: BlockDevice): string => {
    const dev = `${device.major}:${device.minor}`;
    let name = names.get(dev);
    if (name === undefined) {
      try {
        name = /^DEVNAME=(.+)$/m.exec(readUevent(dev))?.[1] ?? dev;
      } catch {
        name = dev; // the device went away: its number still identifies it
      }
      names.set(dev, name);
    }
    return name;
  };
}

// Names block devices the way people know them (vda, nvme0n1) from their device numbers.
import { readFileSync } from 'node:fs';

import type { BlockDevice } from './probes/index.js';

/** The device number of a disk by its name (vda -> 254:0), from sysfs. */
export function diskDevice(
  name: string,
  readDev = (disk: string) => readFileSync(`/sys/class/block/${disk}/dev`, 'utf8'),
): BlockDevice | undefined {
  try {
    const [major, minor] = readDev(name).trim().split(':').map(Number);
    return major !== undefined && minor !== undefined ? { major, minor } : undefined;
  } catch {
    return undefined;
  }
}

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

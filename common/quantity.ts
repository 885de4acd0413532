// Kubernetes resource quantities ("500m", "2", "64Mi", "1G", "1e3") as numbers: the
// harness sets limits from them, the agent reads pods' requests.
import { CodedError } from './errors.js';

const suffixes: Readonly<Record<string, number>> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const pattern = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

export class QuantityError extends CodedError<'InvalidQuantity'> {
  constructor(text: string) {
    super('InvalidQuantity', `${JSON.stringify(text)} is not a resource quantity (e.g. 500m, 2, 64Mi)`);
  }
}

export function parseQuantity(text: string): number {
  const match = pattern.exec(text.trim());
  const multiplier = match ? suffixes[match[2] ?? ''] : undefined;
  if (!match || multiplier === undefined) {
    throw new QuantityError(text);
  }
  return Number(match[1]) * multiplier;
}

/** CPU in millicores, rounded up as kubelet does ("0.1" and "100m" are both 100). */
export function cpuMillis(text: string): number {
  return Math.ceil(parseQuantity(text) * 1000 - 1e-9);
}

/** Memory in bytes, rounded up. */
export function memoryBytes(text: string): number {
  return Math.ceil(parseQuantity(text) - 1e-9);
}

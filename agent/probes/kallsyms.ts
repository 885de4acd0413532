// Kernel stack symbolization from /proc/kallsyms: addresses of text symbols, sorted
// once, looked up by binary search. Needs root: without it kallsyms lists zero
// addresses and frames stay hexadecimal.
import { readFileSync } from 'node:fs';

interface KernelSymbol {
  readonly address: bigint;
  readonly name: string;
  readonly module?: string;
}

const textTypes = new Set(['t', 'T', 'w', 'W']);

export class KernelSymbols {
  private constructor(private readonly symbols: readonly KernelSymbol[]) {}

  /** Parses /proc/kallsyms text ("<hex address> <type> <name> [<module>]"). */
  static parse(text: string): KernelSymbols {
    const symbols: KernelSymbol[] = [];
    for (const line of text.split('\n')) {
      const [address, type, name, module] = line.split(/\s+/);
      if (!address || !type || !name || !textTypes.has(type)) continue;
      const value = BigInt(`0x${address}`);
      if (value === 0n) continue;
      symbols.push(
        module ? { address: value, name, module: module.replace(/^\[|\]$/g, '') } : { address: value, name },
      );
    }
    symbols.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return new KernelSymbols(symbols);
  }

  get size(): number {
    return this.symbols.length;
  }

  /** "name+0xoffset" (with " [module]" for module code), or the address in hex. */
  symbolize(address: bigint): string {
    let lo = 0;
    let hi = this.symbols.length - 1;
    let found: KernelSymbol | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const symbol = this.symbols[mid];
      if (symbol === undefined) break;
      if (symbol.address <= address) {
        found = symbol;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (!found) return `0x${address.toString(16)}`;
    const at = `${found.name}+0x${(address - found.address).toString(16)}`;
    return found.module ? `${at} [${found.module}]` : at;
  }
}

let cached: KernelSymbols | undefined;

/** The running kernel's symbols, read once per process. */
export function kernelSymbols(path = '/proc/kallsyms'): KernelSymbols {
  cached ??= KernelSymbols.parse(readFileSync(path, 'utf8'));
  return cached;
}

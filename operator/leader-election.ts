// Leader election on a coordination.k8s.io Lease, after client-go's leaderelection: a
// candidate takes the Lease when it is free or has not changed for leaseDuration (judged by
// this process's own clock since it last saw the Lease change, never by the holder's
// renewTime, so clock skew between machines does not matter), renews it every retryPeriod,
// and gives up leadership when it could not renew for renewDeadline (< leaseDuration, so
// it stops acting before anyone else may start). Writes are optimistic (resourceVersion):
// two candidates can never both succeed in taking the same version.
import { microTime, sleep, type Clock } from '../common/clock.js';
import { CodedError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Where the Lease lives; `version` is its resourceVersion. */
export interface LeaseStore {
  get(): Promise<{ record: LeaseRecord; version: string } | undefined>;
  /** Creates the Lease; rejects if it already exists. Resolves to the new version. */
  create(record: LeaseRecord): Promise<string>;
  /** Replaces the Lease if it is still at `version`; rejects otherwise. */
  update(record: LeaseRecord, version: string): Promise<string>;
}

export interface LeaderElectionOptions {
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  store: LeaseStore;
  clock: Clock;
  log: Logger;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaderElectionConfigError extends CodedError<'InvalidLeaderElection'> {
  constructor(message: string) {
    super('InvalidLeaderElection', message);
  }
}

export class LeaderElector {
  private observed: { version: string; record: LeaseRecord; at: number } | undefined;
  private leading = false;

  constructor(private readonly o: LeaderElectionOptions) {
    if (!(o.retryPeriodMs < o.renewDeadlineMs && o.renewDeadlineMs < o.leaseDurationMs))
      throw new LeaderElectionConfigError(
        `need retry period < renew deadline < lease duration, got ${o.retryPeriodMs} / ${o.renewDeadlineMs} / ${o.leaseDurationMs} ms`,
      );
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The identity holding the Lease as last seen (possibly this one). */
  observedLeader(): string | undefined {
    return this.observed?.record.holderIdentity || undefined;
  }

  /** Campaigns until leading, then renews until `signal` aborts or leadership is lost. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.o.log.info('became leader', { identity: this.o.identity });
        this.o.onStartedLeading();
        break;
      }
      await sleep(this.o.clock, this.o.retryPeriodMs, signal);
    }
    let lastRenew = this.o.clock.now();
    while (!signal.aborted && this.leading) {
      await sleep(this.o.clock, this.o.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = this.o.clock.now();
      } else if (this.o.clock.now() - lastRenew >= this.o.renewDeadlineMs) {
        this.leading = false;
        this.o.log.error('lost leadership: could not renew the lease in time', {
          identity: this.o.identity,
          holder: this.observedLeader(),
        });
        this.o.onStoppedLeading();
      }
    }
  }

  /** Hands the Lease back (on shutdown) so a standby takes over without waiting for expiry. */
  async release(): Promise<void> {
    if (!this.leading || !this.observed) return;
    this.leading = false;
    const now = this.o.clock.now();
    try {
      await this.o.store.update(
        { ...this.observed.record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) },
        this.observed.version,
      );
      this.o.log.info('released the lease', { identity: this.o.identity });
    } catch (err) {
      this.o.log.warn('could not release the lease; it will expire', { err: asError(err) });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.clock.now();
    const mine: LeaseRecord = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const current = await this.o.store.get();
      if (!current) {
        const version = await this.o.store.create(mine);
        this.observed = { version, record: mine, at: now };
        return true;
      }
      if (this.observed?.version !== current.version) this.observed = { ...current, at: now };
      const holder = current.record.holderIdentity;
      const held = holder !== undefined && holder !== '' && holder !== this.o.identity;
      const durationMs = (current.record.leaseDurationSeconds ?? 0) * 1000;
      if (held && now < this.observed.at + durationMs) return false;

      const record: LeaseRecord =
        holder === this.o.identity
          ? { ...mine, acquireTime: current.record.acquireTime, leaseTransitions: current.record.leaseTransitions ?? 0 }
          : { ...mine, leaseTransitions: (current.record.leaseTransitions ?? 0) + 1 };
      const version = await this.o.store.update(record, current.version);
      this.observed = { version, record, at: now };
      return true;
    } catch (err) {
      this.o.log.debug('lease acquire/renew failed', { identity: this.o.identity, err: asError(err) });
      return false;
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

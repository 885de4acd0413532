// A cache of one resource kept current by list+watch (watch.ts's ListWatch), with what
// ListWatch leaves to its user: restart after errors (it stops on any error but 410 Gone,
// which it handles by relisting), a periodic full relist that also heals a watch that went
// quiet without failing, objects parsed at the edge, a `synced` flag for readiness, and a
// hook that counts relists by their cause.
import { z } from 'zod';

import { sleep, type Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { KubeClient } from './client.js';
import { ListWatch, type KubeList, type KubeObject } from './watch.js';

export interface InformerHandlers<T> {
  /** An object appeared or changed (its resourceVersion differs from the cached one). */
  onChange?(obj: T, old: T | undefined): void;
  onDelete?(obj: T): void;
}

/** One list-then-watch of a collection, as watch.ts's ListWatch runs it: start() lists
 * through `list`, then watches and emits add/update/delete; any failure but 410 Gone emits
 * `error` and stops it until the next start(). */
export interface ListWatcher {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: KubeObject) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface WatchRequest {
  readonly path: string;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  readonly list: () => Promise<KubeList>;
  /** Called when the server answers 410 Gone (the watch lists again). */
  readonly expired: () => void;
}

/** Where an informer's watches come from: the API server's watch in production, recorded
 * events in tests. */
export type WatchSource = (request: WatchRequest) => ListWatcher;

function apiWatchSource(client: KubeClient): WatchSource {
  return ({ path, labelSelector, fieldSelector, list, expired }) =>
    new ListWatch({ client, path, labelSelector, fieldSelector, list, expired });
}

/** Why the whole collection is listed again: the API server answered 410 Gone to a watch
 * (the resourceVersion it resumed from is no longer served), or the periodic relist. */
export type RelistReason = 'Expired' | 'Resync';

export interface InformerOptions<T> {
  /** For logs: `sessions`, `pods`... */
  name: string;
  /** Lists the collection. */
  client: KubeClient;
  /** Watches it; the API server's watch by default. */
  watch?: WatchSource;
  /** Collection path, e.g. /api/v1/pods (all namespaces). */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Turns a raw object into T; throws on objects the operator cannot use (they are skipped). */
  parse(raw: unknown): T;
  key(obj: T): string;
  /** Relist everything this often. */
  relistMs: number;
  clock: Clock;
  log: Logger;
  handlers: InformerHandlers<T>;
  /** Told of each relist after the first list, with its reason (for a metric). */
  onRelist?(informer: string, reason: RelistReason): void;
}

const listSchema = z.object({
  metadata: z.looseObject({ resourceVersion: z.string().optional() }).optional(),
  items: z.array(z.looseObject({ metadata: z.looseObject({ resourceVersion: z.string().optional() }) })),
});

interface Entry<T> {
  obj: T;
  resourceVersion: string | undefined;
}

const minBackoffMs = 1000;
const maxBackoffMs = 30_000;

export class Informer<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private synced = false;
  private stopped = false;
  private readonly watch: WatchSource;
  private current: ListWatcher | undefined;
  /** Bumped for each new watch, so callbacks of a replaced one are ignored. */
  private epoch = 0;
  private backoffMs = minBackoffMs;
  private readonly abort = new AbortController();

  constructor(private readonly options: InformerOptions<T>) {
    this.watch = options.watch ?? apiWatchSource(options.client);
  }

  get name(): string {
    return this.options.name;
  }

  /** Starts listing and watching; returns at once. */
  start(): void {
    void this.runRelistLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.current?.stop();
  }

  /** The first list has completed (the cache is usable). */
  hasSynced(): boolean {
    return this.synced;
  }

  get(key: string): T | undefined {
    return this.entries.get(key)?.obj;
  }

  list(): T[] {
    return [...this.entries.values()].map((e) => e.obj);
  }

  private async runRelistLoop(): Promise<void> {
    for (let first = true; !this.stopped; first = false) {
      if (!first) this.options.onRelist?.(this.options.name, 'Resync');
      await this.connect();
      await sleep(this.options.clock, this.options.relistMs, this.abort.signal);
    }
  }

  private async connect(): Promise<void> {
    const epoch = ++this.epoch;
    await this.current?.stop();
    const { path, labelSelector, fieldSelector } = this.options;
    const lw = this.watch({
      path,
      labelSelector,
      fieldSelector,
      list: () => this.listAndSync(epoch),
      expired: () => {
        if (epoch === this.epoch) this.expired();
      },
    });
    const live = (fn: (raw: KubeObject) => void) => (raw: KubeObject) => {
      if (epoch === this.epoch) fn(raw);
    };
    lw.on(
      'add',
      live((raw) => this.upsert(raw)),
    );
    lw.on(
      'update',
      live((raw) => this.upsert(raw)),
    );
    lw.on(
      'delete',
      live((raw) => this.remove(raw)),
    );
    lw.on('error', (err: unknown) => {
      if (epoch === this.epoch && !this.stopped) void this.restart(lw, epoch, err);
    });
    this.current = lw;
    await lw.start();
  }

  /** Lists through our client, and applies the list to the cache itself: objects gone
   * from it are deleted (ListWatch only knows about its own previous list). */
  private async listAndSync(epoch: number): Promise<KubeList> {
    const { client, path, labelSelector, fieldSelector } = this.options;
    const list = listSchema.parse(await client.get(path, { labelSelector, fieldSelector }));
    if (epoch === this.epoch) {
      const seen = new Set<string>();
      for (const raw of list.items) {
        const key = this.upsert(raw);
        if (key !== undefined) seen.add(key);
      }
      for (const [key, entry] of [...this.entries]) {
        if (seen.has(key)) continue;
        this.entries.delete(key);
        this.options.handlers.onDelete?.(entry.obj);
      }
      if (!this.synced) this.options.log.info('informer synced', { informer: this.options.name, objects: seen.size });
      this.synced = true;
      this.backoffMs = minBackoffMs;
    }
    return list;
  }

  private expired(): void {
    // Events were missed: until the list is back, the cache may hold objects deleted meanwhile.
    this.synced = false;
    this.options.log.info('watch expired (410 Gone); listing again', { informer: this.options.name });
    this.options.onRelist?.(this.options.name, 'Expired');
  }

  private async restart(lw: ListWatcher, epoch: number, err: unknown): Promise<void> {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, maxBackoffMs);
    this.options.log.warn('watch failed; restarting', {
      informer: this.options.name,
      err: err instanceof Error ? err : String(err),
      retryInMs: delay,
    });
    await sleep(this.options.clock, delay, this.abort.signal);
    if (epoch === this.epoch && !this.stopped) await lw.start();
  }

  private upsert(raw: unknown): string | undefined {
    let obj: T;
    try {
      obj = this.options.parse(raw);
    } catch (err) {
      this.options.log.warn('skipping an object the operator cannot read', {
        informer: this.options.name,
        err: err instanceof Error ? err : String(err),
      });
      return undefined;
    }
    const key = this.options.key(obj);
    const resourceVersion = resourceVersionOf(raw);
    const before = this.entries.get(key);
    if (before && resourceVersion !== undefined && before.resourceVersion === resourceVersion) return key;
    this.entries.set(key, { obj, resourceVersion });
    this.options.handlers.onChange?.(obj, before?.obj);
    return key;
  }

  private remove(raw: unknown): void {
    let key: string;
    try {
      key = this.options.key(this.options.parse(raw));
    } catch {
      return;
    }
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.options.handlers.onDelete?.(entry.obj);
  }
}

function resourceVersionOf(raw: unknown): string | undefined {
  const meta = (raw as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata;
  return typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined;
}

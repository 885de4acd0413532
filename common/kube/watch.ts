// List-then-watch of one collection: list, then watch from the list's resourceVersion
// (bookmarks keep it current, so a reconnect resumes where the last watch stopped), and
// reconnect when the server ends a watch at its timeoutSeconds. When the server no longer
// has that resourceVersion (410 Gone: etcd compacted it) list again and report what
// changed meanwhile, deletions included. Any other failure is reported through `error`
// and ends the run; start() again resumes from the last resourceVersion.
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';

import { CodedError } from '../errors.js';
import { ApiError, type KubeClient } from './client.js';

/** Any API object, as JSON; only what the watch itself reads is typed. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
  };
}

export interface KubeList {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly items: readonly KubeObject[];
}

export class WatchError extends CodedError<'InvalidWatchEvent' | 'ShortWatch' | 'WatchStalled'> {}

export interface ListWatchOptions {
  readonly client: KubeClient;
  /** Collection path, e.g. /api/v1/pods. */
  readonly path: string;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  /** Lists the collection (with the same selectors). */
  readonly list: () => Promise<KubeList>;
  /** Told each time the server answers 410 Gone: the next watch starts from a new list. */
  readonly expired?: () => void;
}

type Verb = 'add' | 'update' | 'delete';

/** The server ends each watch after 5 to 10 minutes (as client-go asks), so that
 * reconnects spread out; a watch still open a while after that has gone quiet. */
const minWatchSeconds = 300;
const stallGraceMs = 60_000;
/** A watch that ends this soon without an event is a failure, not a timeout (a proxy that
 * closes streams at once would otherwise make us reconnect in a tight loop). */
const shortWatchMs = 1000;
/** etcd keeps objects under 1.5 MiB; a longer line is not an event. */
const maxLineChars = 16 << 20;

const objectSchema = z.looseObject({
  metadata: z
    .looseObject({
      name: z.string().optional(),
      namespace: z.string().optional(),
      uid: z.string().optional(),
      resourceVersion: z.string().optional(),
    })
    .optional(),
});

const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.enum(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']), object: objectSchema }),
  z.object({
    type: z.literal('ERROR'),
    object: z.looseObject({
      code: z.number(),
      reason: z.string().optional(),
      message: z.string().optional(),
    }),
  }),
]);

export class ListWatch {
  private readonly handlers = {
    add: [] as Array<(obj: KubeObject) => void>,
    update: [] as Array<(obj: KubeObject) => void>,
    delete: [] as Array<(obj: KubeObject) => void>,
    error: [] as Array<(err: unknown) => void>,
  };
  /** Where the next watch starts; undefined: list first. */
  private resourceVersion: string | undefined;
  /** Every object as last seen, metadata only: enough to name what a relist no longer has
   * (the delete carries that last known state, as client-go's tombstones do). */
  private readonly known = new Map<string, KubeObject>();
  private running: { controller: AbortController; done: Promise<void> } | undefined;

  constructor(private readonly options: ListWatchOptions) {}

  on(verb: Verb, cb: (obj: KubeObject) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  on(verb: Verb | 'error', cb: (arg: never) => void): void {
    (this.handlers[verb] as Array<(arg: never) => void>).push(cb);
  }

  /** Returns once the watch is open, or has failed (which `error` reports). */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    const controller = new AbortController();
    return new Promise((opened) => {
      const done = this.run(controller, () => opened()).finally(() => opened());
      this.running = { controller, done };
    });
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    running?.controller.abort();
    await running?.done;
  }

  private async run(controller: AbortController, opened: () => void): Promise<void> {
    const { signal } = controller;
    try {
      while (!signal.aborted) {
        const fresh = this.resourceVersion === undefined;
        if (fresh) await this.relist(signal);
        const { end, events } = await this.watch(signal, opened);
        if (end === 'gone') {
          this.options.expired?.();
          this.resourceVersion = undefined;
          // Gone at once after a fresh list: list again after the informer's backoff, not in a loop.
          if (fresh && events === 0)
            throw new ApiError(410, 'Expired', 'the resourceVersion of a fresh list', 'GET', this.options.path);
        }
      }
    } catch (err) {
      if (this.running?.controller === controller) this.running = undefined;
      if (!signal.aborted) for (const cb of this.handlers.error) cb(err);
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const list = await this.options.list();
    if (signal.aborted) return;
    const listed = new Set<string>();
    for (const obj of list.items) {
      const key = keyOf(obj);
      listed.add(key);
      const before = this.known.get(key);
      const version = obj.metadata?.resourceVersion;
      if (before && version !== undefined && before.metadata?.resourceVersion === version) continue;
      this.remember(key, obj);
      this.emit(before ? 'update' : 'add', obj);
    }
    for (const [key, last] of this.known) {
      if (listed.has(key)) continue;
      this.known.delete(key);
      this.emit('delete', last);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
  }

  /** One watch request, to its end: 'gone' when the server no longer has our
   * resourceVersion, 'ended' when it closed the watch at its timeout; with the number of
   * events it brought before that. */
  private async watch(signal: AbortSignal, opened: () => void): Promise<{ end: 'gone' | 'ended'; events: number }> {
    const { client, path, labelSelector, fieldSelector } = this.options;
    const timeoutSeconds = Math.round(minWatchSeconds * (1 + Math.random()));
    const stall = AbortSignal.timeout(timeoutSeconds * 1000 + stallGraceMs);
    const query = {
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: this.resourceVersion || undefined,
      timeoutSeconds: String(timeoutSeconds),
      labelSelector,
      fieldSelector,
    };
    let response: IncomingMessage;
    try {
      response = await client.stream(path, query, AbortSignal.any([signal, stall]));
    } catch (err) {
      if (err instanceof ApiError && err.status === 410) return { end: 'gone', events: 0 };
      throw err;
    }
    opened();
    const since = Date.now();
    let events = 0;
    try {
      for await (const line of lines(response)) {
        if (this.apply(line) === 'gone') return { end: 'gone', events };
        events++;
      }
    } catch (err) {
      if (signal.aborted || err instanceof CodedError) throw err;
      if (stall.aborted)
        throw new WatchError(
          'WatchStalled',
          `${path}: the watch was still open ${stallGraceMs / 1000} s past its timeout`,
        );
      throw new ApiError(0, '', `the watch broke: ${err instanceof Error ? err.message : String(err)}`, 'GET', path);
    }
    if (events === 0 && Date.now() - since < shortWatchMs)
      throw new WatchError('ShortWatch', `${path}: the server ended the watch at once, without an event`);
    return { end: 'ended', events };
  }

  private apply(line: string): 'gone' | undefined {
    const parsed = eventSchema.safeParse(safeJson(line));
    if (!parsed.success)
      throw new WatchError(
        'InvalidWatchEvent',
        `${this.options.path}: not a watch event (${z.prettifyError(parsed.error).replace(/\n\s*/g, ' ')}): ${line.slice(0, 200)}`,
      );
    const event = parsed.data;
    if (event.type === 'ERROR') {
      const { code, reason = '', message = '' } = event.object;
      if (code === 410) return 'gone';
      throw new ApiError(code, reason, message, 'GET', this.options.path);
    }
    const obj: KubeObject = event.object;
    this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const key = keyOf(obj);
    if (event.type === 'DELETED') {
      this.known.delete(key);
      this.emit('delete', obj);
      return;
    }
    const known = this.known.has(key);
    this.remember(key, obj);
    this.emit(known ? 'update' : 'add', obj);
  }

  private remember(key: string, obj: KubeObject): void {
    const { name, namespace, uid, resourceVersion } = obj.metadata ?? {};
    this.known.set(key, {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name, namespace, uid, resourceVersion },
    });
  }

  private emit(verb: Verb, obj: KubeObject): void {
    for (const cb of this.handlers[verb]) cb(obj);
  }
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** The non-empty lines of a stream of newline-delimited JSON. */
async function* lines(stream: IncomingMessage): AsyncGenerator<string> {
  stream.setEncoding('utf8');
  let rest = '';
  for await (const chunk of stream as AsyncIterable<string>) {
    // Most chunks of a large object end mid-line: append them without splitting again.
    if (chunk.includes('\n')) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const part of parts) if (part.trim()) yield part;
    } else rest += chunk;
    if (rest.length > maxLineChars)
      throw new WatchError('InvalidWatchEvent', `a watch line over ${maxLineChars} characters`);
  }
  if (rest.trim()) yield rest;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

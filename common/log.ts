// Structured JSON logs with Kubernetes' keys (ts in epoch seconds, v for verbosity, msg,
// err) so the operator's lines read like any control-plane component's. Objects are logged
// as {name, namespace} under their kind: `session`, `nodeDiagnostic`, `pod`; nodes as `node`.
import winston from 'winston';

import { errorCode } from './errors.js';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const verbosity: Record<string, number> = { warn: 0, info: 0, debug: 4 };

const kubernetesJson = winston.format((info) => {
  const {
    level,
    message,
    timestamp: _t,
    stack,
    err,
    ...rest
  } = info as winston.Logform.TransformableInfo & {
    stack?: string;
    err?: unknown;
  };
  const line: Record<string, unknown> = { ts: Date.now() / 1000 };
  if (level !== 'error') line.v = verbosity[level] ?? 0;
  line.msg = message;
  const error = err instanceof Error ? err.message : (err ?? stack);
  if (error !== undefined) line.err = typeof error === 'string' ? error : JSON.stringify(error);
  const code = errorCode(err);
  if (code !== undefined) line.errCode = code;
  if (level === 'warn') line.warning = true;
  Object.assign(line, rest);
  // winston keeps its own symbols on `info`; the JSON printer below ignores them.
  return Object.assign(info, { [Symbol.for('message')]: JSON.stringify(line, jsonSafe) });
});

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function createLogger(level: LogLevel = 'info', stream: NodeJS.WritableStream = process.stdout): Logger {
  return winston.createLogger({
    level,
    format: kubernetesJson(),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** `{name, namespace}`: how Kubernetes logs refer to an object. */
export function objectRef(o: { name: string; namespace?: string }): { name: string; namespace?: string } {
  return o.namespace ? { name: o.name, namespace: o.namespace } : { name: o.name };
}

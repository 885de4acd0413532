// Credentials from a kubeconfig `exec` plugin (client.authentication.k8s.io v1 and
// v1beta1): the command prints an ExecCredential whose status holds a token or a client
// certificate, valid until its expirationTimestamp. It is run again once that passes, or
// when the API server refuses what it gave (401). Only non-interactive use: the plugin
// gets no terminal.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';

import type { Clock } from '../clock.js';
import { CodedError } from '../errors.js';
import type { Credential, Credentials } from './credentials.js';

export const execApiVersions = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;

export interface ExecPlugin {
  readonly apiVersion: (typeof execApiVersions)[number];
  /** Absolute, or resolved on $PATH (the kubeconfig loader resolves relative paths). */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Shown when the command cannot be run. */
  readonly installHint: string | undefined;
  /** Passed to the plugin as spec.cluster when the kubeconfig asks for it. */
  readonly cluster: { readonly server: string; readonly 'certificate-authority-data'?: string } | undefined;
}

export class ExecCredentialError extends CodedError<'ExecFailed' | 'InvalidExecCredential'> {}

const statusSchema = z
  .object({
    token: z.string().min(1).optional(),
    clientCertificateData: z.string().min(1).optional(),
    clientKeyData: z.string().min(1).optional(),
    expirationTimestamp: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((s) => s.token !== undefined || (s.clientCertificateData !== undefined && s.clientKeyData !== undefined), {
    message: 'status has neither a token nor both clientCertificateData and clientKeyData',
  });

const outputSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('ExecCredential'),
  status: statusSchema,
});

const runTimeoutMs = 60_000;
const run = promisify(execFile);

export class ExecCredentials implements Credentials {
  private cached: { credential: Credential; expiresAt: number } | undefined;
  /** One run at a time: requests that arrive meanwhile wait for it. */
  private running: Promise<Credential> | undefined;

  constructor(
    private readonly plugin: ExecPlugin,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  current(): Promise<Credential> {
    if (this.cached && this.clock.now() < this.cached.expiresAt) return Promise.resolve(this.cached.credential);
    this.running ??= this.execute().finally(() => (this.running = undefined));
    return this.running;
  }

  refresh(): void {
    this.cached = undefined;
  }

  private async execute(): Promise<Credential> {
    const { apiVersion, command, args, env, cluster } = this.plugin;
    const info = { apiVersion, kind: 'ExecCredential', spec: { interactive: false, ...(cluster ? { cluster } : {}) } };
    let stdout: string;
    try {
      ({ stdout } = await run(command, [...args], {
        env: { ...process.env, ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
        timeout: runTimeoutMs,
        maxBuffer: 1 << 20,
      }));
    } catch (err: unknown) {
      throw new ExecCredentialError('ExecFailed', this.describeFailure(err), { cause: err });
    }
    const output = outputSchema.safeParse(safeJson(stdout));
    if (!output.success)
      throw new ExecCredentialError(
        'InvalidExecCredential',
        `the credential plugin ${command} printed no valid ExecCredential: ${z.prettifyError(output.error)}`,
      );
    if (output.data.apiVersion !== apiVersion)
      throw new ExecCredentialError(
        'InvalidExecCredential',
        `the credential plugin ${command} answered in ${output.data.apiVersion}, not the ${apiVersion} the kubeconfig asks for`,
      );
    const { token, clientCertificateData, clientKeyData, expirationTimestamp } = output.data.status;
    const credential: Credential = {
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(clientCertificateData !== undefined && clientKeyData !== undefined
        ? { cert: Buffer.from(clientCertificateData), key: Buffer.from(clientKeyData) }
        : {}),
    };
    this.cached = { credential, expiresAt: expirationTimestamp ? Date.parse(expirationTimestamp) : Infinity };
    return credential;
  }

  private describeFailure(err: unknown): string {
    const { command, installHint } = this.plugin;
    const e = err as { code?: unknown; stderr?: unknown; killed?: unknown };
    if (e.code === 'ENOENT')
      return `the credential plugin ${command} was not found${installHint ? `: ${installHint}` : ''}`;
    if (e.killed) return `the credential plugin ${command} did not finish in ${runTimeoutMs / 1000} s`;
    const stderr = typeof e.stderr === 'string' ? e.stderr.trim().slice(0, 500) : '';
    return `the credential plugin ${command} failed (exit ${String(e.code)})${stderr ? `: ${stderr}` : ''}`;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

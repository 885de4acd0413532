// The agent's restart state: one JSON file per NodeDiagnostic (by UID) in a directory that
// outlives the agent process (a hostPath in the DaemonSet). Written atomically, read back
// only if it parses: a corrupt file means starting the session's figures afresh, never a crash.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Logger } from '../common/log.js';
import { runnerSnapshotJson, type RunnerSnapshot } from './session-runner.js';

export class StateStore {
  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private file(uid: string): string {
    return join(this.dir, `${uid.replace(/[^A-Za-z0-9-]/g, '_')}.json`);
  }

  load(uid: string): RunnerSnapshot | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(uid), 'utf8');
    } catch {
      return undefined;
    }
    try {
      return runnerSnapshotJson.parse(JSON.parse(text));
    } catch (err) {
      this.log.warn('ignoring unreadable restart state', { file: this.file(uid), err });
      return undefined;
    }
  }

  save(uid: string, snapshot: RunnerSnapshot): void {
    const file = this.file(uid);
    writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
    renameSync(`${file}.tmp`, file);
  }

  remove(uid: string): void {
    rmSync(this.file(uid), { force: true });
  }
}

// Last-resort cleanup when the process ends without stopping what it started (a test
// runner killed with Ctrl-C, an uncaught exception): synchronous actions run on 'exit',
// and SIGINT/SIGTERM/SIGHUP are turned into an exit when nobody else handles them.
type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
let installed = false;

/** Registers `cleanup` to run synchronously at process exit; returns its unregistration. */
export function onExitCleanup(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  const signals = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
  for (const [signal, number] of Object.entries(signals)) {
    // A program with its own handler (the CLI's graceful stop, mocha) stays in charge.
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(128 + number));
  }
}

function runAll(): void {
  for (const cleanup of [...cleanups]) {
    try {
      cleanup();
    } catch (err: unknown) {
      console.error('exit cleanup failed:', err);
    }
  }
  cleanups.clear();
}

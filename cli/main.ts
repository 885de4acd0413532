// Entry point of `crosstalk` and of the kubectl plugin `kubectl-crosstalk` (bin/): runs
// the subcommand and turns every failure into a one-line message and its exit status.
import { CommanderError } from '@commander-js/extra-typings';

import { asCliError, exitCodes } from './errors.js';
import { buildProgram } from './program.js';

// bin/ passes the name it was invoked by; kubectl runs plugins as kubectl-<name>.
const name = process.env.CROSSTALK_COMMAND_NAME === 'kubectl-crosstalk' ? 'kubectl crosstalk' : 'crosstalk';

// A reader that went away (`| head`) is not an error.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(exitCodes.ok);
    throw err;
  });

try {
  await buildProgram(name).parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has printed the help or the complaint already.
    process.exitCode = err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  } else {
    const failure = asCliError(err);
    process.stderr.write(`${name}: ${failure.message}\n`);
    if (process.env.CROSSTALK_DEBUG && failure.cause instanceof Error) process.stderr.write(`${failure.cause.stack}\n`);
    process.exitCode = failure.exitCode;
  }
}

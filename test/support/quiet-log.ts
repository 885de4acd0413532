// A Logger that drops every line: the I/O classes log as they work, the tests assert on
// what they do.
import { Writable } from 'node:stream';

import { createLogger } from '../../common/log.js';

export const quietLog = createLogger('error', new Writable({ write: (_chunk, _encoding, done) => done() }));

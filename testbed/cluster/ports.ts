import { createServer } from 'node:net';

/** A loopback TCP port that was free a moment ago: bound to port 0, then released. Another
 * process may take it before the caller binds it, so callers retry on "address in use". */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('listen(0) returned no port'));
      });
    });
  });
}

/**
 * Runs inside a network namespace (tests/lib/ns-forward.ts starts it): accepts TCP connections on
 * `HOST PORT` and pipes each to the Unix socket `PATH`. Prints {"listening":true} once bound; exits when
 * stdin closes.
 */
import { connect, createServer } from 'node:net';

const [host, port, path] = process.argv.slice(2);
const server = createServer((inbound) => {
  const outbound = connect({ path: path! });
  inbound.pipe(outbound).pipe(inbound);
  const close = (): void => {
    inbound.destroy();
    outbound.destroy();
  };
  inbound.on('error', close);
  outbound.on('error', close);
});
server.listen(Number(port), host, () => process.stdout.write('{"listening":true}\n'));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

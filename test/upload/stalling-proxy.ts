import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy to the sandbox's SFTP server that stops forwarding, in both directions, once the
 * client has sent `stallAfterBytes`: the connection stays open and the server never answers
 * again, as a hung server or a black-holing firewall behaves. Uploads through it get stuck.
 */
export interface StallingProxy {
  port: number;
  /** True once a connection passed the limit and went silent. */
  stalled(): boolean;
  /** Where new connections go (a sandbox started after the proxy); resets stalled(). */
  forwardTo(target: { host: string; port: number }): void;
  close(): Promise<void>;
}

export async function startStallingProxy(stallAfterBytes: number, initial?: { host: string; port: number }): Promise<StallingProxy> {
  let stalled = false;
  let target = initial ?? { host: '127.0.0.1', port: 1 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let sent = 0;
    let silent = false;
    client.on('data', (chunk: Buffer) => {
      if (silent) return;
      sent += chunk.length;
      if (sent > stallAfterBytes) {
        silent = true;
        stalled = true;
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!silent) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    stalled: () => stalled,
    forwardTo: (next) => {
      target = next;
      stalled = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

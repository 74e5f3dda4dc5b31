/**
 * A TCP proxy in front of sshd that can drop connections on demand: armed with `failNext(n)`, the
 * next `n` times the client sends anything (a request on a live session, or the banner of a new
 * connection), that connection is cut in both directions. That is a real transport failure — the
 * SSH client sees its socket close — so the conformance suite's retry case exercises the backend's
 * reconnect, not only the retry wrapper.
 */

/** A running proxy. */
export interface TcpFaultProxy {
  port: number;
  failNext(n: number): void;
  pending(): number;
  stop(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `127.0.0.1:targetPort`. */
export function startTcpFaultProxy(targetPort: number): TcpFaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let armed = 0;
  const open = new Set<Deno.Conn>();
  const closeAll = (...conns: Deno.Conn[]) => {
    for (const c of conns) {
      open.delete(c);
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  };
  const pump = async (from: Deno.Conn, to: Deno.Conn, upstream: boolean) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        if (upstream && armed > 0) {
          armed--;
          break;
        }
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // either side went away
    }
    closeAll(from, to);
  };
  const accepting = (async () => {
    for await (const client of listener) {
      open.add(client);
      Deno.connect({ hostname: "127.0.0.1", port: targetPort }).then((server) => {
        open.add(server);
        void pump(client, server, true);
        void pump(server, client, false);
      }, () => closeAll(client));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    failNext: (n) => void (armed = n),
    pending: () => armed,
    async stop() {
      listener.close();
      closeAll(...open);
      await accepting;
    },
  };
}

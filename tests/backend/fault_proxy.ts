/**
 * A tiny HTTP proxy in front of the S3 server that answers the next N requests with 503 SlowDown
 * (as AWS does under throttling) and forwards everything else unchanged. It forwards with node:http
 * because fetch cannot keep the client's Host header, which SigV4 signs.
 */
import http from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** A running proxy. */
export interface FaultProxy {
  endpoint: string;
  /** Fail the next `n` requests with 503 SlowDown. */
  failNext(n: number): void;
  /** Failures not yet served. */
  pending(): number;
  /**
   * Forward the next request matching `pattern` (on `METHOD /path?query`), then answer the client
   * 503 anyway: the server acted, the client never heard (a lost response). `meanwhile` runs
   * between the server's answer and the 503.
   */
  loseResponse(pattern: RegExp, meanwhile?: () => Promise<void>): void;
  /**
   * Answer every request matching `pattern` (on `METHOD /path?query`) 403 AccessDenied, a final
   * answer no retry gets past: one step of an operation fails for good while the others go through.
   */
  refuse(pattern: RegExp): void;
  /** Requests seen (failed or forwarded). */
  requests(): number;
  /** `METHOD /path?query` of every request seen, in order. */
  log: string[];
  stop(): Promise<void>;
}

const ACCESS_DENIED = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`;

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`;

/** Starts a proxy to `target` (e.g. `http://127.0.0.1:PORT`) on a free loopback port. */
export function startFaultProxy(target: string): FaultProxy {
  const t = new URL(target);
  let left = 0;
  let seen = 0;
  let lose: RegExp | undefined;
  let refused: RegExp | undefined;
  let meanwhileHook: (() => Promise<void>) | undefined;
  const log: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    seen++;
    const u = new URL(req.url);
    log.push(`${req.method} ${u.pathname}${u.search}`);
    if (left > 0) {
      left--;
      await req.body?.cancel();
      return new Response(SLOW_DOWN, { status: 503, headers: { "content-type": "application/xml" } });
    }
    if (refused?.test(log[log.length - 1])) {
      await req.body?.cancel();
      return new Response(ACCESS_DENIED, { status: 403, headers: { "content-type": "application/xml" } });
    }
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => headers[k] = v);
    const lost = lose?.test(log[log.length - 1]) ?? false;
    if (lost) lose = undefined;
    const res = await new Promise<Response>((resolve, reject) => {
      const out = http.request({
        host: t.hostname,
        port: Number(t.port),
        method: req.method,
        path: u.pathname + u.search,
        headers,
      }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined && k !== "transfer-encoding" && k !== "connection") h.set(k, String(v));
        }
        const noBody = req.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
        if (noBody) res.resume();
        const body = noBody ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status: res.statusCode, headers: h }));
      });
      out.on("error", reject);
      // pipeline, not pipe: a client that stops mid-body (a source that changed under it) fails this
      // forwarded request instead of throwing in the proxy.
      if (req.body) {
        pipeline(Readable.fromWeb(req.body as import("node:stream/web").ReadableStream), out).catch(reject);
      } else out.end();
    });
    if (!lost) return res;
    await res.body?.cancel();
    await meanwhileHook?.();
    return new Response(SLOW_DOWN, { status: 503, headers: { "content-type": "application/xml" } });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    failNext: (n) => void (left = n),
    pending: () => left,
    loseResponse: (pattern, meanwhile) => {
      lose = pattern;
      meanwhileHook = meanwhile;
    },
    refuse: (pattern) => void (refused = pattern),
    requests: () => seen,
    log,
    stop: () => server.shutdown(),
  };
}

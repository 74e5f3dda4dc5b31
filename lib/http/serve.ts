/**
 * A minimal, read-only HTTP server on `node:http` (the same code under Deno and in the Bun-compiled
 * binary) for the replicator's `/metrics` and the status page. Handlers get the GET and HEAD requests
 * (path, query and headers) and return a whole (small) response; anything else is 405 here.
 */
import { lookup } from "node:dns/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { BusyError, IoError } from "../errors.ts";
import { formatHostPort, type ListenAddr } from "../net/listen_addr.ts";

/** What a handler sees of a request. */
export interface HttpRequest {
  method: string;
  path: string;
  /** Each name's first value, percent-decoded only (a `+` stays a `+`: this is a URL, not a form). */
  query: ReadonlyMap<string, string>;
  headers: IncomingMessage["headers"];
}

/** What a handler returns. */
export interface HttpResponse {
  status: number;
  contentType?: string;
  body: string;
  headers?: Record<string, string>;
}

/** Handles one request. */
export type HttpHandler = (req: HttpRequest) => Promise<HttpResponse> | HttpResponse;

/** A listening server. */
export interface HttpServer {
  /** The bound address (port resolved when 0 was asked for). */
  addr: ListenAddr;
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

/** The path and query of a request target, or null when it is not a URL (`http://[`, a port > 65535, `%zz`). */
function parseTarget(target: string): { path: string; query: Map<string, string> } | null {
  try {
    const url = new URL(target, "http://localhost");
    const query = new Map<string, string>();
    for (const pair of url.search.slice(1).split("&")) {
      if (!pair) continue;
      const eq = pair.indexOf("=");
      const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      if (!query.has(name)) query.set(name, eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1)));
    }
    return { path: url.pathname, query };
  } catch {
    return null;
  }
}

/** What the server answers without asking the handler. */
function refused(method: string, target: ReturnType<typeof parseTarget>): HttpResponse | null {
  // Both servers only read; HEAD is what monitoring probes send.
  if (method !== "GET" && method !== "HEAD") {
    return { status: 405, headers: { allow: "GET, HEAD" }, body: "method not allowed: only GET and HEAD\n" };
  }
  return target ? null : { status: 400, body: "bad request: the request target is not a valid URL\n" };
}

/**
 * Listens on `addr`; rejects with exit 5 when the port is taken, 11 when its host does not resolve or
 * on other socket errors.
 */
export async function serveHttp(addr: ListenAddr, handler: HttpHandler): Promise<HttpServer> {
  const where = formatHostPort(addr);
  // Resolved here because listen() reports a failed lookup with whatever errno was left behind
  // (ENOTTY, EINVAL under Bun) instead of saying the name does not resolve.
  const host = await lookup(addr.host).then(
    (a) => a.address,
    (err: NodeJS.ErrnoException) => {
      throw new IoError(
        `${where}: cannot listen: cannot resolve host ${addr.host} (${err.code ?? err.message})`,
        {
          cause: err,
        },
      );
    },
  );
  const server = createServer((req, res) => {
    const method = req.method ?? "GET";
    // Parsed inside the chain: a target that is not a URL must get its 400 here, not throw out of the
    // listener (the runtime then answered 200 with no body and printed a stack trace per request).
    Promise.resolve()
      .then(() => {
        const target = parseTarget(req.url ?? "/");
        return refused(method, target) ??
          handler({ method, path: target!.path, query: target!.query, headers: req.headers });
      })
      .catch((err): HttpResponse => ({ status: 500, body: `${(err as Error)?.message ?? err}\n` }))
      .then((r) => {
        res.writeHead(r.status, {
          "content-type": r.contentType ?? "text/plain; charset=utf-8",
          "cache-control": "no-store",
          ...r.headers,
        });
        res.end(method === "HEAD" ? undefined : r.body);
      });
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new BusyError(`${where}: address already in use`, { cause: err })
          : new IoError(`${where}: cannot listen: ${err.message}`, { cause: err }),
      );
    });
    server.listen(addr.port, host, () => {
      const a = server.address() as AddressInfo;
      const bound = { host: addr.host, port: a.port };
      resolve({
        addr: bound,
        url: `http://${formatHostPort(bound)}`,
        // Bounded: a runtime that cannot drop idle keep-alive connections (a browser holds some) must
        // not hold up the replicator's exit after its final flush.
        close: () =>
          new Promise<void>((r) => {
            const timer = setTimeout(r, 1000);
            server.close(() => {
              clearTimeout(timer);
              r();
            });
            server.closeAllConnections?.();
          }),
      });
    });
  });
}

/**
 * A minimal HTTP server on `node:http` (the same code under Deno and in the Bun-compiled binary) for
 * the replicator's `/metrics` and the status page. Handlers get the method, path, query and headers
 * and return a whole (small) response.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { BusyError, IoError } from "../errors.ts";
import { formatHostPort, type ListenAddr } from "../net/listen_addr.ts";

/** What a handler sees of a request. */
export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
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

/** Listens on `addr`; rejects with exit 5 when the port is taken, 11 on other socket errors. */
export function serveHttp(addr: ListenAddr, handler: HttpHandler): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    Promise.resolve()
      .then(() =>
        handler({
          method: req.method ?? "GET",
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
        })
      )
      .catch((err): HttpResponse => ({ status: 500, body: `${(err as Error)?.message ?? err}\n` }))
      .then((r) => {
        res.writeHead(r.status, {
          "content-type": r.contentType ?? "text/plain; charset=utf-8",
          "cache-control": "no-store",
          ...r.headers,
        });
        res.end(req.method === "HEAD" ? undefined : r.body);
      });
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const where = formatHostPort(addr);
      reject(
        err.code === "EADDRINUSE"
          ? new BusyError(`${where}: address already in use`, { cause: err })
          : new IoError(`${where}: cannot listen: ${err.message}`, { cause: err }),
      );
    });
    server.listen(addr.port, addr.host, () => {
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

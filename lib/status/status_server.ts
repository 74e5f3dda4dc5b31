/**
 * `backup status --serve`: the page on `/`, the same facts as JSON on `/status.json`. With a token
 * every request must carry it (`Authorization: Bearer T` or `?token=T`), compared in constant time.
 */
import { timingSafeEqual } from "node:crypto";
import { type HttpRequest, type HttpServer, serveHttp } from "../http/serve.ts";
import type { ListenAddr } from "../net/listen_addr.ts";
import { statusPage } from "./status_page.ts";
import type { Collection } from "./collect_status.ts";
import type { Status } from "./status_model.ts";

/** Options of {@link serveStatus}. */
export interface StatusServerOptions {
  addr: ListenAddr;
  token?: string;
  /**
   * Produces a fresh status (called at most once per `minIntervalMs`, and never while the work of the
   * previous call has not ended).
   */
  collect: () => Promise<Collection>;
  minIntervalMs?: number;
}

function presented(req: HttpRequest): string | null {
  const auth = req.headers.authorization;
  // The scheme is case-insensitive (RFC 7235 section 2.1): proxies and clients write "bearer".
  const bearer = typeof auth === "string" ? /^bearer +(.*)$/is.exec(auth) : null;
  if (bearer) return bearer[1];
  return req.query.get("token") ?? null;
}

/** True when `req` carries `token` (or no token is required). */
export function authorized(req: HttpRequest, token: string | undefined): boolean {
  if (!token) return true;
  const got = new TextEncoder().encode(presented(req) ?? "");
  const want = new TextEncoder().encode(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Serves the status page. */
export function serveStatus(opts: StatusServerOptions): Promise<HttpServer> {
  let last: { at: number; status: Status } | null = null;
  let collecting: Promise<Status> | null = null;
  // True from a collection's start until all of its work has ended, timed-out sections included: a
  // hung backend then holds one set of connections, not one more per page refresh.
  let busy = false;
  const current = (): Promise<Status> => {
    if (collecting) return collecting;
    const fresh = last && Date.now() - last.at < (opts.minIntervalMs ?? 5000);
    if (last && (busy || fresh)) return Promise.resolve(last.status);
    const at = Date.now();
    const collection = opts.collect();
    busy = true;
    // A failed collection is not cached: the next request tries again.
    collecting = collection.then((c) => (last = { at, status: c.status }).status).finally(() =>
      collecting = null
    );
    collection.then((c) => c.settled, () => {}).then(() => (busy = false));
    return collecting;
  };
  return serveHttp(opts.addr, async (req) => {
    if (!authorized(req, opts.token)) {
      return { status: 401, body: "unauthorized: pass the token as ?token=T or Authorization: Bearer T\n" };
    }
    if (req.path === "/" || req.path === "/index.html") {
      return {
        status: 200,
        contentType: "text/html; charset=utf-8",
        // Nothing but this page's own inline code and its own origin: the page must work air-gapped.
        headers: {
          "content-security-policy":
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'none'",
        },
        body: statusPage(await current()),
      };
    }
    if (req.path === "/status.json") {
      return { status: 200, contentType: "application/json", body: JSON.stringify(await current(), null, 2) };
    }
    return { status: 404, body: "not found: / or /status.json\n" };
  });
}

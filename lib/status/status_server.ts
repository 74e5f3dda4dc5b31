/**
 * `backup status --serve`: the page on `/`, the same facts as JSON on `/status.json`. With a token
 * every request must carry it (`Authorization: Bearer T` or `?token=T`), compared in constant time.
 */
import { timingSafeEqual } from "node:crypto";
import { type HttpRequest, type HttpServer, serveHttp } from "../http/serve.ts";
import type { ListenAddr } from "../net/listen_addr.ts";
import { statusPage } from "./status_page.ts";
import type { Status } from "./status_model.ts";

/** Options of {@link serveStatus}. */
export interface StatusServerOptions {
  addr: ListenAddr;
  token?: string;
  /** Produces a fresh status (called at most once per `minIntervalMs`, never concurrently). */
  collect: () => Promise<Status>;
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
  let cached: { at: number; status: Promise<Status> } | null = null;
  const current = (): Promise<Status> => {
    const now = Date.now();
    if (!cached || now - cached.at >= (opts.minIntervalMs ?? 5000)) {
      const status = opts.collect();
      cached = { at: now, status };
      // A failed collection is not cached: the next request tries again.
      status.catch(() => (cached = null));
    }
    return cached.status;
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

/**
 * One HTTP request whose body is a stream of known length, sent with that Content-Length and not
 * chunked: S3 and the GCS XML API refuse a chunked PUT unless it is aws-chunked signed. Bun's
 * `fetch` sends a stream body with the Content-Length it is given; Deno's sends it chunked and drops
 * the header (both captured with a raw socket), so under Deno (and Node) the request goes through
 * node:http(s), which sends the header as given.
 */
import process from "node:process";
import { runtimeName } from "../../runtime.ts";

/** What {@link sendStreamed} sends. */
export interface StreamedRequest {
  method: string;
  headers: Headers;
  /** Exactly as many bytes as the content-length header says. */
  body: ReadableStream<Uint8Array>;
  signal: AbortSignal;
}

const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];

/**
 * True when {@link sendStreamed} reaches the server the way `fetch` does. node:http ignores the
 * proxy variables `fetch` honours, so with a proxy configured only Bun, whose `fetch` is used,
 * streams; under Deno the caller then sends the body as fetch's buffered multipart parts instead.
 */
export function canSendStreamed(env: Record<string, string | undefined> = process.env): boolean {
  if (runtimeName() === "bun") return true;
  return !PROXY_VARIABLES.some((v) => env[v] || env[v.toLowerCase()]);
}

/** Sends `req` to `url`; resolves with the answer (body unread), as `fetch` does. */
export function sendStreamed(url: URL, req: StreamedRequest): Promise<Response> {
  if (runtimeName() === "bun") {
    const init = {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
      duplex: "half",
    };
    return fetch(url, init as RequestInit);
  }
  return sendWithNodeHttp(url, req);
}

async function sendWithNodeHttp(url: URL, req: StreamedRequest): Promise<Response> {
  // Loaded here, not at the top: Bun never comes this way, and under Bun these modules are ~2.5 MiB of
  // RSS that every S3 and GCS transfer carried (a 1 GiB download's peak, 64.4 -> 63.2 MiB).
  const [{ default: http }, { default: https }, { Readable }, { pipeline }] = await Promise.all([
    import("node:http"),
    import("node:https"),
    import("node:stream"),
    import("node:stream/promises"),
  ]);
  return await new Promise<Response>((resolve, reject) => {
    const out = (url.protocol === "https:" ? https : http).request(url, {
      method: req.method,
      headers: Object.fromEntries(req.headers),
      signal: req.signal,
      // One connection per upload, closed after it: a pooled idle socket would outlive the backend.
      agent: false,
    }, (res) => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
      }
      const body = req.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304
        ? (res.resume(), null)
        : Readable.toWeb(res) as ReadableStream<Uint8Array>;
      resolve(new Response(body, { status: res.statusCode, headers }));
    });
    out.on("error", reject);
    // A server may answer before it has read the whole body (a refused signature): the answer then
    // wins, and the failed write only closes the connection.
    pipeline(Readable.fromWeb(req.body as import("node:stream/web").ReadableStream<Uint8Array>), out)
      .catch(reject);
  });
}

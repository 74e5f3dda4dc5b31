/**
 * One HTTP request against an S3-style XML object API (AWS S3, MinIO, the GCS XML API), with the
 * answer mapped to typed errors. Authentication is pluggable: SigV4 (aws4fetch) for S3 and GCS HMAC
 * keys, a bearer token for GCS Application Default Credentials. No retries here: the retry layer
 * decides from the error class ({@link TransientError} or not).
 */
import { createHash } from "node:crypto";
import { AwsClient } from "aws4fetch";
import { BackendError, BadInputError, NotFoundError } from "../../errors.ts";
import { TransientError } from "../retry.ts";
import { parseError } from "./xml.ts";
import { connectionCause } from "../../net/connect_error.ts";
import type { S3Credentials } from "./bucket_url.ts";
import { sendStreamed } from "./streamed_request.ts";

/** Adds authentication to a request about to be sent. */
export interface RequestAuth {
  /**
   * Returns the URL/headers to send (signed or carrying a token). `payloadSha256` is the hex SHA-256
   * of a body not passed as bytes (a stream).
   */
  authorize(
    method: string,
    url: URL,
    headers: Headers,
    body?: Uint8Array,
    payloadSha256?: string,
  ): Promise<Headers>;
  /** Called when the server answered 401; the request is then sent once more with fresh auth. */
  onUnauthorized?(): void;
  /** True when the payload's SHA-256 is signed: a streamed body is then hashed before it is sent. */
  readonly signsPayload?: boolean;
}

/**
 * SigV4 signing (AWS, S3-compatible servers, GCS HMAC keys) with static keys or a provider of them
 * (temporary credentials change when they are refreshed).
 */
export function sigV4Auth(
  creds: S3Credentials | (() => Promise<S3Credentials>),
  region: string,
): RequestAuth {
  const current = typeof creds === "function" ? creds : () => Promise.resolve(creds);
  let signedWith: S3Credentials | undefined;
  let client: AwsClient | undefined;
  return {
    signsPayload: true,
    async authorize(method, url, headers, body, payloadSha256) {
      const c = await current();
      if (c !== signedWith || !client) {
        // retries: 0 — aws4fetch's own retry loop would hide failures from our retry layer.
        client = new AwsClient({ ...c, service: "s3", region, retries: 0 });
        signedWith = c;
      }
      // Signing the payload hash makes the server reject a body corrupted in transit.
      const hash = payloadSha256 ??
        (body ? createHash("sha256").update(body).digest("hex") : "UNSIGNED-PAYLOAD");
      headers.set("x-amz-content-sha256", hash);
      const signed = await client.sign(url.toString(), { method, headers });
      return new Headers(signed.headers);
    },
  };
}

/** Bearer-token authentication; `token()` returns a fresh-enough access token. */
export function bearerAuth(token: () => Promise<string>): RequestAuth {
  return {
    async authorize(_method, _url, headers) {
      headers.set("authorization", `Bearer ${await token()}`);
      return headers;
    },
  };
}

/** Where the API lives and how to address a bucket. */
export interface ObjectApiOptions {
  endpoint: URL;
  bucket: string;
  pathStyle: boolean;
  auth: RequestAuth;
  /** Scheme shown in messages: "s3" or "gcs". */
  scheme: string;
  /** Time to wait for response headers, in ms. Default 60000. */
  timeoutMs?: number;
}

/** A body sent as it is read: its length and (for SigV4) its SHA-256 are known beforehand. */
export interface StreamedPayload {
  size: number;
  /** A fresh stream of the body per attempt (a 401 is answered by sending it again). */
  open(): ReadableStream<Uint8Array>;
  /** Hex SHA-256 of the bytes, where the auth signs payloads. */
  sha256?: string;
}

/** One request. `key` is the full object key in the bucket; omitted for bucket-level calls. */
export interface ApiRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  key?: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: Uint8Array | StreamedPayload;
  /** Statuses besides 2xx that are not errors (e.g. 404 for HEAD). */
  accept?: number[];
  /** Ends the request, its answer's body included (a download's watch for a server gone silent). */
  signal?: AbortSignal;
}

/** One request sent: its answer, and how to cancel what is left of its body's stream. */
interface Attempt {
  res: Response;
  abandon(): void;
}

/** Encodes a key for a URL path: every byte except unreserved characters and "/" is escaped. */
function encodeKey(key: string): string {
  return key.split("/").map((seg) =>
    encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  ).join("/");
}

/** Sends requests to one bucket. */
export class ObjectApi {
  constructor(private readonly opts: ObjectApiOptions) {}

  /** How long an answer may keep us waiting, for its headers and, in a download, for each next byte. */
  get timeoutMs(): number {
    return this.opts.timeoutMs ?? 60000;
  }

  /** True when a streamed body must be hashed first (its SHA-256 is signed). */
  get signsPayload(): boolean {
    return this.opts.auth.signsPayload ?? false;
  }

  /** `s3://bucket/key`, for messages. */
  describe(key?: string): string {
    return `${this.opts.scheme}://${this.opts.bucket}${key === undefined ? "" : `/${key}`}`;
  }

  /** The request URL of `key` (or of the bucket) with the query. */
  url(key: string | undefined, query: [string, string][] = []): URL {
    const { endpoint, bucket, pathStyle } = this.opts;
    const host = pathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
    let path = pathStyle ? `/${bucket}` : "";
    path += key === undefined ? (pathStyle ? "" : "/") : `/${encodeKey(key)}`;
    const qs = query.map(([k, v]) =>
      v === "" ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`
    )
      .join("&");
    return new URL(`${endpoint.protocol}//${host}${path}${qs ? `?${qs}` : ""}`);
  }

  /** Sends one request; returns the response (body unread) or throws a typed error. */
  async send(req: ApiRequest): Promise<Response> {
    const first = await this.sendOnce(req);
    if (first.res.status !== 401 || !this.opts.auth.onUnauthorized) return await this.checked(req, first);
    // An expired or revoked bearer token: drop it and try once with a fresh one.
    await first.res.body?.cancel();
    first.abandon();
    this.opts.auth.onUnauthorized();
    return await this.checked(req, await this.sendOnce(req));
  }

  /** {@link check}, then the body's stream given up if the answer was not a success. */
  private async checked(req: ApiRequest, attempt: Attempt): Promise<Response> {
    try {
      return await this.check(req, attempt.res);
    } finally {
      // Not before: a transport may close the connection with the stream, losing the error's XML.
      if (!attempt.res.ok) attempt.abandon();
    }
  }

  private async sendOnce(req: ApiRequest): Promise<Attempt> {
    const url = this.url(req.key, req.query);
    const what = this.describe(req.key);
    const streamed = req.body instanceof Uint8Array ? undefined : req.body;
    const headers = new Headers(req.headers ?? {});
    if (streamed) headers.set("content-length", String(streamed.size));
    const authorized = streamed
      ? await this.opts.auth.authorize(req.method, url, headers, undefined, streamed.sha256)
      : await this.opts.auth.authorize(req.method, url, headers, req.body as Uint8Array | undefined);
    const ctl = new AbortController();
    const timeoutMs = this.timeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(), timeoutMs);
    };
    arm();
    let bodyError: unknown;
    let res: Response;
    // Cancels this attempt's stream of the body once it is given up: neither runtime's transport
    // reliably does when the connection fails or the server answers without reading the rest (a 401,
    // a 503), and a stream left open holds the caller's file open while the next attempt opens it again.
    const abandon = new AbortController();
    try {
      if (streamed) {
        // The timeout counts from the last byte handed over, not from the start: a large body on a
        // slow link takes longer than the wait for an answer may.
        const body = exactSize(streamed.open(), streamed.size, what, {
          progress: arm,
          failed: (err) => bodyError = err,
          signal: abandon.signal,
        });
        res = await sendStreamed(url, { method: req.method, headers: authorized, body, signal: ctl.signal });
      } else {
        const body = req.body as Uint8Array<ArrayBuffer> | undefined;
        const signal = req.signal ? AbortSignal.any([ctl.signal, req.signal]) : ctl.signal;
        res = await fetch(url, { method: req.method, headers: authorized, body, signal });
      }
    } catch (err) {
      abandon.abort();
      if (bodyError) throw bodyError;
      if (ctl.signal.aborted) {
        throw new TransientError(`${what}: no answer within ${timeoutMs} ms`, undefined, { cause: err });
      }
      throw new TransientError(
        `${what}: cannot connect to ${url.host} (${connectionCause(err)})`,
        undefined,
        {
          cause: err,
        },
      );
    } finally {
      clearTimeout(timer);
    }
    return { res, abandon: () => abandon.abort() };
  }

  private async check(req: ApiRequest, res: Response): Promise<Response> {
    const what = this.describe(req.key);
    if (res.ok || req.accept?.includes(res.status)) return res;
    const text = req.method === "HEAD" ? "" : await res.text().catch(() => "");
    if (req.method === "HEAD") await res.body?.cancel();
    throw mapHttpError(res.status, text, what, this.describe());
  }

  /** Sends a request and returns the whole body as text (for XML answers). */
  async sendText(req: ApiRequest): Promise<string> {
    const res = await this.send(req);
    return await res.text();
  }
}

/** What {@link exactSize} also does. */
export interface ExactSizeOptions {
  /** Runs per chunk passed on. */
  progress?: () => void;
  /**
   * Also gets the error of a wrong size, or the source's own error, since a transport may replace it
   * with its own.
   */
  failed?: (err: unknown) => void;
  /** Aborting it cancels the source (closing the file it reads). */
  signal?: AbortSignal;
}

/**
 * `stream` as it is, failing with {@link changedBody} when it does not hold exactly `size` bytes (the
 * source changed since it was measured), or with the source's error when reading it fails.
 */
export function exactSize(
  stream: ReadableStream<Uint8Array>,
  size: number,
  what: string,
  opts: ExactSizeOptions = {},
): ReadableStream<Uint8Array> {
  const { progress, failed, signal } = opts;
  // Read by hand, not piped: a pipe cancels its source on abort only after its pending write, which
  // never completes while the transport has stopped reading.
  const reader = stream.getReader();
  let sent = 0;
  let over = false;
  const stop = (ctl: ReadableStreamDefaultController<Uint8Array>, err: unknown) => {
    over = true;
    ctl.error(err);
    reader.cancel(err).catch(() => {});
  };
  const fail = (ctl: ReadableStreamDefaultController<Uint8Array>, bytes: string) => {
    const err = changedBody(what, `${size} bytes announced, ${bytes} read`);
    failed?.(err);
    stop(ctl, err);
  };
  return new ReadableStream<Uint8Array>({
    start(ctl) {
      signal?.addEventListener("abort", () => {
        if (!over) stop(ctl, signal.reason);
      }, { once: true });
    },
    async pull(ctl) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        // The source itself failed (a file that changed under a checksum check, a read error): its
        // error is the answer, not the transport's "cannot connect" it would be replaced with.
        if (over) return;
        failed?.(err);
        return stop(ctl, err);
      }
      const { done, value } = chunk;
      if (over) return;
      if (done) {
        if (sent !== size) return fail(ctl, String(sent));
        over = true;
        return ctl.close();
      }
      sent += value.length;
      if (sent > size) return fail(ctl, `more than ${size}`);
      progress?.();
      ctl.enqueue(value);
    },
    cancel(reason) {
      over = true;
      return reader.cancel(reason);
    },
  });
}

/** The error of a body that is not what was hashed or measured before it was sent. */
export function changedBody(what: string, detail: string): BadInputError {
  return new BadInputError(`${what}: the upload's source changed while it was sent (${detail})`);
}

/** Maps a failed HTTP answer to a typed error whose message names the object and never a secret. */
function mapHttpError(status: number, body: string, what: string, bucket: string): Error {
  const { code, message } = parseError(body);
  const detail = [code, message].filter(Boolean).join(": ") || `HTTP ${status}`;
  if (status >= 500 || status === 429 || code === "SlowDown" || code === "RequestTimeout") {
    return new TransientError(`${what}: server error ${status} (${detail})`, status);
  }
  switch (code) {
    case "NoSuchKey":
      return new NotFoundError(`${what}: no such object`);
    case "NoSuchUpload":
      return new NotFoundError(`${what}: multipart upload no longer exists (NoSuchUpload)`);
    case "NoSuchBucket":
      return new BackendError(`${bucket}: bucket does not exist`);
    case "SignatureDoesNotMatch":
      return new BackendError(
        `${what}: request signature rejected (SignatureDoesNotMatch): check the secret key`,
      );
    case "InvalidAccessKeyId":
      return new BackendError(`${what}: access key id not recognised (InvalidAccessKeyId)`);
    case "AccessDenied":
      return new BackendError(`${what}: access denied (AccessDenied)`);
    case "XAmzContentSHA256Mismatch":
      return changedBody(what, `the server's SHA-256 of the body differs from the signed one: ${code}`);
  }
  if (status === 404) return new NotFoundError(`${what}: no such object`);
  if (status === 401 || status === 403) {
    // A HEAD's refusal has no body to say why ("HTTP 403, HTTP 403" said nothing): the usual causes.
    const why = code || message
      ? `HTTP ${status}, ${detail}`
      : `HTTP ${status}: a wrong secret key or access key id, or no permission on the bucket`;
    return new BackendError(`${what}: access denied (${why})`);
  }
  return new BackendError(`${what}: request failed: HTTP ${status} (${detail})`);
}

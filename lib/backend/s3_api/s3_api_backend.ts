/**
 * A backend over the S3 XML API: objects under a root prefix of one bucket. The s3:// backend
 * (lib/backend/s3/) and the gcs:// backend (lib/backend/gcs/) both open one; GCS differs only in
 * authentication, endpoint and the lack of multi-object delete. Retrying is the wrapper's job (lib/backend/retry.ts); only the parts of a
 * streamed upload and the rest of an interrupted download are retried here, because only this
 * layer still holds their bytes (or knows the offset and the ETag).
 */
import {
  type Backend,
  isSizedBody,
  type ObjectInfo,
  openBody,
  type PutBody,
  type PutOptions,
  stoppedPutError,
} from "../backend.ts";
import type { RetryPolicy } from "../retry.ts";
import { BackendError, NotFoundError, UsageError } from "../../errors.ts";
import { exactSize, type ObjectApi } from "./object_api.ts";
import { downloadInto, openDownload } from "./download.ts";
import { bodyToFile } from "../../runtime.ts";
import { putObject, putSized, uploadStream } from "./upload.ts";
import { canSendStreamed } from "./streamed_request.ts";
import { deleteObjectsXml, parseDeleteErrors, parseListPage } from "./xml.ts";
import { createHash } from "node:crypto";

/** How an {@link S3Backend} reaches its bucket. */
export interface S3BackendOptions {
  api: ObjectApi;
  /** Root prefix, "" or ending in "/". */
  prefix: string;
  /** URL for messages (no credentials). */
  url: string;
  /** false for servers without DeleteObjects (the GCS XML API): keys are deleted one by one. */
  multiDelete: boolean;
  /** Part size of multipart uploads; default 8 MiB. */
  partSize?: number;
  /** Parts in flight; default 2. */
  concurrency?: number;
  /** Largest body of known size sent as one streamed PUT; larger ones go multipart. Default 200 MiB. */
  singlePutMax?: number;
  /** Retry policy of the parts of a streamed upload and of resuming an interrupted download. */
  retry?: RetryPolicy;
  /** Keys per ListObjectsV2 page (`max-keys`); default: the server's (1000 on S3 and GCS). */
  listPageSize?: number;
}

/**
 * Default {@link S3BackendOptions.singlePutMax}: rclone's `upload_cutoff` (S3 takes up to 5 GiB in
 * one PUT). One PUT saves the multipart requests (and s3rver's copy of every part on completion),
 * but a transient failure resends the whole body, where multipart resends one part.
 */
export const DEFAULT_SINGLE_PUT_MAX = 200 * 1024 * 1024;

/** Rejects keys the URL parser would rewrite ("." and ".." segments) or that escape the root. */
function checkKey(key: string, url: string): void {
  if (key === "" || key.startsWith("/") || key.split("/").some((s) => s === "." || s === "..")) {
    throw new UsageError(`${url}: invalid object key "${key}"`);
  }
}

/** Orders strings as their UTF-8 bytes would sort (= by code point, unlike `<` on UTF-16 units). */
function compareUtf8(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** A Backend over an S3-style object API. */
export class S3Backend implements Backend {
  readonly url: string;
  private readonly api: ObjectApi;
  private readonly prefix: string;

  readonly getInto?: (key: string, path: string) => Promise<number>;

  constructor(private readonly opts: S3BackendOptions) {
    this.url = opts.url;
    this.api = opts.api;
    this.prefix = opts.prefix;
    const write = bodyToFile();
    if (write) {
      this.getInto = (key, path) => {
        checkKey(key, this.url);
        return downloadInto(this.api, this.prefix + key, path, write, this.opts.retry);
      };
    }
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<void> {
    try {
      await this.#put(key, body, opts.signal);
    } catch (err) {
      throw stoppedPutError(err, opts.signal);
    }
  }

  async #put(key: string, body: PutBody, signal: AbortSignal | undefined): Promise<void> {
    checkKey(key, this.url);
    const full = this.prefix + key;
    if (body instanceof Uint8Array && body.length <= (this.opts.partSize ?? 8 * 1024 * 1024)) {
      // A buffered body is replayable; the retry wrapper resends it, so no retries here.
      return await putObject(this.api, full, body);
    }
    if (
      isSizedBody(body) && body.size <= (this.opts.singlePutMax ?? DEFAULT_SINGLE_PUT_MAX) &&
      canSendStreamed()
    ) {
      return await putSized(this.api, full, body);
    }
    // A multipart upload retries its buffered parts here, one by one: a bare stream cannot be sent
    // again, and resending a large file whole (a sized body above the cutoff) after one failed part
    // would restart it from zero. A part that still fails throws a final error, so the decorator does
    // not resend the body on top. Bytes and functions of unknown length are retried whole by it.
    const perPart = body instanceof ReadableStream || isSizedBody(body);
    // Held to its announced size as the single PUT holds it: a file that grew or shrank since it was
    // measured is refused (the multipart upload aborted), not stored at its new size.
    const opened = isSizedBody(body)
      ? exactSize(body.open(), body.size, this.api.describe(full))
      : openBody(body);
    const stream = opened instanceof Uint8Array
      ? new Blob([opened as Uint8Array<ArrayBuffer>]).stream()
      : opened;
    await uploadStream(this.api, full, stream, {
      partSize: this.opts.partSize,
      concurrency: this.opts.concurrency,
      retry: perPart ? this.opts.retry : undefined,
      signal,
    });
  }

  async get(key: string): Promise<ReadableStream<Uint8Array>> {
    checkKey(key, this.url);
    return await openDownload(this.api, this.prefix + key, this.opts.retry);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    checkKey(key, this.url);
    const res = await this.api.send({ method: "HEAD", key: this.prefix + key, accept: [404] });
    await res.body?.cancel();
    if (res.status === 404) return null;
    return {
      key,
      size: Number(res.headers.get("content-length") ?? "0"),
      mtime: new Date(res.headers.get("last-modified") ?? 0),
    };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const full = this.prefix + prefix;
    let token: string | undefined;
    do {
      const query: [string, string][] = [["list-type", "2"], ["prefix", full], ["encoding-type", "url"]];
      if (token) query.push(["continuation-token", token]);
      if (this.opts.listPageSize) query.push(["max-keys", String(this.opts.listPageSize)]);
      const xml = await this.api.sendText({ method: "GET", query });
      // Servers that ignore encoding-type (s3rver) send raw keys and omit <EncodingType>.
      const page = parseListPage(xml, /<EncodingType>url<\/EncodingType>/.test(xml));
      // S3 orders by UTF-8 bytes; sort each page the same way for servers that do not.
      page.objects.sort((a, b) => compareUtf8(a.key, b.key));
      for (const o of page.objects) {
        if (!o.key.startsWith(this.prefix)) continue;
        yield { key: o.key.slice(this.prefix.length), size: o.size, mtime: o.mtime };
      }
      token = page.nextToken;
    } while (token);
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) checkKey(k, this.url);
    if (!this.opts.multiDelete) {
      await this.deleteEach(keys);
      return;
    }
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => this.prefix + k);
      const body = new TextEncoder().encode(deleteObjectsXml(batch));
      const md5 = createHash("md5").update(body).digest("base64");
      const xml = await this.api.sendText({
        method: "POST",
        query: [["delete", ""]],
        body,
        headers: { "content-md5": md5, "content-type": "application/xml" },
      });
      const failed = parseDeleteErrors(xml).filter((e) => e.code !== "NoSuchKey");
      if (failed.length > 0) {
        const f = failed[0];
        throw new BackendError(
          `${this.api.describe(f.key)}: delete failed (${f.code}: ${f.message})` +
            (failed.length > 1 ? ` and ${failed.length - 1} more` : ""),
        );
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async deleteEach(keys: string[]): Promise<void> {
    const queue = [...keys];
    const worker = async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        try {
          const res = await this.api.send({ method: "DELETE", key: this.prefix + k, accept: [404] });
          await res.body?.cancel();
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, keys.length) }, worker));
  }
}

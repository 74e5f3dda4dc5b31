/**
 * Uploads with bounded memory. A stream of unknown length: bodies up to one part are sent as one
 * PUT; larger ones as a multipart upload (parts of `partSize`, doubled every 1,000 parts; `concurrency`
 * in flight, the upload aborted on failure). Our buffers are at most (concurrency + 1) × the part size
 * (24 MiB by default, for the first 8 GB). A
 * body of known size is streamed as one PUT without a buffer ({@link putSized}). Nothing becomes
 * visible under the key until the single PUT or CompleteMultipartUpload succeeds, so a failed
 * upload never looks like a complete one.
 */
import { createHash } from "node:crypto";
import { BackendError, NotFoundError, toVigoError } from "../../errors.ts";
import { withNote } from "../../fsutil/left_temp.ts";
import { LeftBehindError, type SizedBody } from "../backend.ts";
import { type RetryPolicy, withRetries } from "../retry.ts";
import { changedBody, type ObjectApi } from "./object_api.ts";
import { completeMultipartXml, tagText } from "./xml.ts";
import { GarbageBound, runtimeProbe } from "../../runtime.ts";

/** Tuning of {@link uploadStream}. */
export interface UploadOptions {
  /** Part size in bytes (S3 needs ≥ 5 MiB except for the last part). Default 8 MiB. */
  partSize?: number;
  /** Parts in flight. Default 2 (measured: 4 gained nothing on loopback and cost ~60 MiB RSS). */
  concurrency?: number;
  /** Per-request retry policy (each part is buffered, so it can be resent). */
  retry?: RetryPolicy;
  /** The put's signal (PutOptions.signal): a multipart upload it stops is aborted, or named. */
  signal?: AbortSignal;
}

/** Default part size: 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** Parts of one size before the size doubles (S3 takes at most 10,000 parts per upload). */
const PARTS_PER_SIZE = 1000;

/**
 * The size of part `index` (from 0) of an upload of unknown length: `base` for the first 1,000 parts,
 * then doubled every 1,000. At 8 MiB throughout, S3's 10,000 parts held 78 GiB, and a larger archive
 * failed at its 10,001st part; now they hold 8.5 TB, buffers growing only past 8 GB. Pure.
 */
export function partSizeAt(base: number, index: number): number {
  return base * 2 ** Math.floor(index / PARTS_PER_SIZE);
}

/**
 * Reads `stream` in pieces of exactly `sizeAt(i)` bytes for the i-th piece (the last one shorter; none
 * for an empty stream). Buffers come from `alloc`, so the caller can recycle the ones it is done with.
 */
export async function* fixedChunks(
  stream: ReadableStream<Uint8Array>,
  sizeAt: (index: number) => number,
  alloc: (size: number) => Uint8Array = (size) => new Uint8Array(size),
): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let index = 0;
  let size = sizeAt(index);
  let buf = alloc(size);
  let fill = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let off = 0;
      while (off < value.length) {
        const n = Math.min(size - fill, value.length - off);
        buf.set(value.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === size) {
          yield buf;
          size = sizeAt(++index);
          buf = alloc(size);
          fill = 0;
        }
      }
    }
    if (fill > 0) yield buf.subarray(0, fill);
  } finally {
    reader.releaseLock();
  }
}

/** Stores `stream` under the full object key `key`. Returns the number of bytes stored. */
export async function uploadStream(
  api: ObjectApi,
  key: string,
  stream: ReadableStream<Uint8Array>,
  opts: UploadOptions = {},
): Promise<number> {
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
  // Recycled part buffers: V8 frees big buffers lazily, so fresh ones per part inflate the RSS.
  const pool: Uint8Array[] = [];
  // A pooled buffer of a smaller size (before the parts grew) is dropped, not reused.
  const alloc = (size: number) => {
    const spare = pool.pop();
    return spare?.length === size ? spare : new Uint8Array(size);
  };
  const chunks = fixedChunks(stream, (i) => partSizeAt(partSize, i), alloc);
  const first = await chunks.next();
  const second = first.done ? first : await chunks.next();
  if (second.done) {
    const body = first.done ? new Uint8Array(0) : first.value;
    await putObject(api, key, body, opts.retry);
    return body.length;
  }
  return await multipart(api, key, [first.value as Uint8Array, second.value], chunks, opts, partSize, pool);
}

/**
 * Runs `fn` under `policy`, or once when there is no policy (the caller's wrapper retries); no retry
 * once `signal` is aborted.
 */
function retrying<T>(
  what: string,
  fn: () => Promise<T>,
  policy?: RetryPolicy,
  signal?: AbortSignal,
): Promise<T> {
  return policy ? withRetries(what, fn, policy, signal) : fn();
}

/**
 * One PUT of a buffered body. Integrity rides on the signed x-amz-content-sha256 (SigV4), which S3
 * checks; Content-MD5 would be a second pass at a third of SHA-256's speed here.
 */
export async function putObject(
  api: ObjectApi,
  key: string,
  body: Uint8Array,
  retry?: RetryPolicy,
): Promise<void> {
  await retrying(`put ${api.describe(key)}`, async () => {
    const res = await api.send({ method: "PUT", key, body });
    await res.body?.cancel();
  }, retry);
}

/**
 * One PUT of a body of known size, streamed from its source. Where SigV4 signs the payload, the
 * body is read twice: hashed first (x-amz-content-sha256 must be signed before the first byte goes
 * out), then sent; the server checks the bytes it got against the signed hash, so a source that
 * changed in between is refused (XAmzContentSHA256Mismatch) and nothing is stored. A file just read
 * is in the page cache for the second pass. No retries here: the body is replayable, so the retry
 * wrapper resends it whole.
 */
/**
 * The read size a streamed PUT asks of its body. Under Bun, `backup upload` of 128 MiB to s3rver
 * (the executable, 4 alternating rounds) peaked at 79.2 MiB reading 1 MiB pieces and at 71.3 MiB
 * reading 256 KiB, in the same time; the hash pass's size made no difference.
 */
export const STREAMED_PUT_READ = 256 * 1024;

export async function putSized(api: ObjectApi, key: string, body: SizedBody): Promise<void> {
  const sha256 = api.signsPayload ? await hashBody(body, api.describe(key)) : undefined;
  // Under Bun the hash pass's chunks are still uncollected when the send's buffers come: one full
  // collection in between peaked a 128 MiB upload at 66 MiB instead of 71 (rclone: 62), at no
  // measurable cost in time (5 rounds each, alternating). A no-op under Deno.
  runtimeProbe().collect?.();
  const res = await api.send({
    method: "PUT",
    key,
    body: { size: body.size, open: () => bounded(body.open("send", STREAMED_PUT_READ)), sha256 },
  });
  await res.body?.cancel();
}

/**
 * Headroom of a streamed PUT's two passes. Each pass read 128 MiB into buffers nothing collected before
 * it ended: `backup upload` peaked in its hash pass, ~25 MiB above where it started (README, Design).
 */
const SINGLE_PUT_HEADROOM = 8 * 1024 * 1024;

/** `stream` with its chunks counted towards a {@link GarbageBound}. */
function bounded(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const garbage = new GarbageBound(SINGLE_PUT_HEADROOM);
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        garbage.moved(chunk.length);
        ctl.enqueue(chunk);
      },
    }),
  );
}

async function hashBody(body: SizedBody, what: string): Promise<string> {
  const hash = createHash("sha256");
  const garbage = new GarbageBound(SINGLE_PUT_HEADROOM);
  let read = 0;
  for await (const chunk of body.open("hash")) {
    garbage.moved(chunk.length);
    hash.update(chunk);
    read += chunk.length;
  }
  if (read !== body.size) throw changedBody(what, `${body.size} bytes announced, ${read} read`);
  return hash.digest("hex");
}

async function multipart(
  api: ObjectApi,
  key: string,
  head: Uint8Array[],
  rest: AsyncGenerator<Uint8Array>,
  opts: UploadOptions,
  partSize: number,
  pool: Uint8Array[],
): Promise<number> {
  const what = api.describe(key);
  const initXml = await retrying(
    `start multipart upload ${what}`,
    () => api.sendText({ method: "POST", key, query: [["uploads", ""]] }),
    opts.retry,
    opts.signal,
  );
  const uploadId = tagText(initXml, "UploadId");
  if (!uploadId) throw new BackendError(`${what}: server did not return an UploadId`);
  const etags: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const concurrency = opts.concurrency ?? 2;
  let total = 0;
  let failure: unknown;
  const garbage = new GarbageBound();
  const sendPart = async (partNumber: number, body: Uint8Array) => {
    const res = await retrying(
      `upload part ${partNumber} of ${what}`,
      () =>
        api.send({
          method: "PUT",
          key,
          query: [["partNumber", String(partNumber)], ["uploadId", uploadId]],
          body,
        }),
      opts.retry,
      opts.signal,
    );
    await res.body?.cancel();
    const etag = res.headers.get("etag");
    if (!etag) throw new BackendError(`${what}: part ${partNumber} was stored without an ETag`);
    etags[partNumber - 1] = etag;
    // The server has the whole body (it answered), so the buffer can take the next part (not the
    // last part's, a view of part of one).
    if (body.byteLength === body.buffer.byteLength) pool.push(body);
  };
  try {
    let partNumber = 0;
    const parts = (async function* () {
      yield* head;
      yield* rest;
    })();
    for await (const body of parts) {
      if (failure) break;
      partNumber++;
      total += body.length;
      garbage.moved(body.length);
      const p: Promise<void> = sendPart(partNumber, body).catch((err) => {
        failure ??= err;
      }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    opts.signal?.throwIfAborted();
    await complete(api, key, uploadId, etags, total, opts.retry, opts.signal);
  } catch (err) {
    await Promise.allSettled(inFlight);
    const left = await abort(api, key, uploadId);
    if (left === undefined) throw err;
    const note = `multipart upload ${uploadId} could not be aborted (${left}); a bucket lifecycle rule ` +
      "(AbortIncompleteMultipartUpload) removes it";
    // Stopped by a signal, the caller says what is left: nothing, or this upload.
    if (opts.signal?.aborted) throw new LeftBehindError(`${what}: ${note}`, { cause: err });
    // The failure stays the news; its line says what it leaves (it said nothing of the upload).
    throw withNote(toVigoError(err), note);
  }
  // Retried here too: a HEAD that failed once must not make the decorator resend a stored body.
  await retrying(`check ${what}`, () => verifySize(api, key, total, partSize), opts.retry);
  return total;
}

async function complete(
  api: ObjectApi,
  key: string,
  uploadId: string,
  etags: string[],
  total: number,
  retry?: RetryPolicy,
  signal?: AbortSignal,
): Promise<void> {
  const body = new TextEncoder().encode(
    completeMultipartXml(etags.map((etag, i) => ({ partNumber: i + 1, etag }))),
  );
  const startedAt = Date.now();
  let attempts = 0;
  let text: string;
  try {
    text = await retrying(
      `complete multipart upload ${api.describe(key)}`,
      () => {
        attempts++;
        return api.sendText({ method: "POST", key, query: [["uploadId", uploadId]], body });
      },
      retry,
      signal,
    );
  } catch (err) {
    // The answer to an earlier attempt may have been lost after the server completed the upload;
    // the retry then finds no upload (NoSuchUpload). Look at the object before calling it failed.
    if (!(err instanceof NotFoundError)) throw err;
    if (attempts > 1 && await landed(api, key, total, startedAt)) return;
    // A missing upload is a failed put (exit 7), not a missing object the user asked for.
    throw new BackendError(err.message, { cause: err });
  }
  // S3 may answer 200 and still report an error in the body (documented for CompleteMultipartUpload).
  if (/<Error>/.test(text)) {
    throw new BackendError(
      `${api.describe(key)}: completing the upload failed: ${tagText(text, "Message") ?? text}`,
    );
  }
}

/** True when `key` exists with `size` bytes, written since `since` (Last-Modified has 1 s steps). */
async function landed(api: ObjectApi, key: string, size: number, since: number): Promise<boolean> {
  const res = await api.send({ method: "HEAD", key, accept: [404] });
  await res.body?.cancel();
  if (res.status === 404) return false;
  const modified = Date.parse(res.headers.get("last-modified") ?? "");
  return Number(res.headers.get("content-length")) === size &&
    modified >= Math.floor(since / 1000) * 1000 - 1000;
}

/**
 * Best effort: an upload that is left behind costs storage but is never visible as an object. Returns
 * why it could not be aborted, or undefined when it was (or was already gone).
 */
async function abort(api: ObjectApi, key: string, uploadId: string): Promise<string | undefined> {
  try {
    const res = await api.send({ method: "DELETE", key, query: [["uploadId", uploadId]], accept: [404] });
    await res.body?.cancel();
    return undefined;
  } catch (err) {
    // The original failure is what the caller needs to see, this only when it asks what is left.
    return err instanceof Error ? err.message : String(err);
  }
}

async function verifySize(api: ObjectApi, key: string, expected: number, partSize: number): Promise<void> {
  const res = await api.send({ method: "HEAD", key });
  await res.body?.cancel();
  const size = Number(res.headers.get("content-length"));
  if (size !== expected) {
    throw new BackendError(
      `${api.describe(key)}: stored object has ${size} bytes, uploaded ${expected} (part size ${partSize})`,
    );
  }
}

/**
 * Downloads that survive a dropped connection: when the body stream fails part-way, the rest is
 * fetched with `Range: bytes=N-` pinned to the same object version (`If-Match: <ETag>`), so a
 * restore of a large snapshot does not start over (or fail) because the server restarted. A short
 * body (fewer bytes than Content-Length) counts as a failure, never as the end of the object.
 */
import { statSync } from "node:fs";
import { open } from "node:fs/promises";
import { BackendError, toVigoError, VigoError } from "../../errors.ts";
import { type RetryPolicy, TransientError } from "../retry.ts";
import type { ObjectApi } from "./object_api.ts";
import { type BodyToFile, GarbageBound } from "../../runtime.ts";
import { resumableStream, shortBody } from "../resumable_stream.ts";

/**
 * Whether a download may read on after `err`: any failure of the body is a lost connection, whatever
 * the runtime calls it (Deno's is a bare TypeError), and so is a ranged GET's transient failure; every
 * other typed answer (the object changed: 412, removed, access refused) is final.
 */
export function lostConnection(err: unknown): boolean {
  return !(err instanceof VigoError) || err instanceof TransientError;
}

/** The object `key` from byte `offset` on, refused unless it is still the version tagged `etag`. */
function reopener(api: ObjectApi, key: string, etag: string | null) {
  return async (offset: number): Promise<ReadableStream<Uint8Array>> => {
    const res = await api.send({
      method: "GET",
      key,
      headers: { range: `bytes=${offset}-`, "if-match": etag! },
    });
    if (res.status !== 206 || !res.body) {
      await res.body?.cancel();
      throw new BackendError(`${api.describe(key)}: server ignored the Range request (HTTP ${res.status})`);
    }
    return res.body;
  };
}

/** Resumptions allowed: none without an ETag, as a ranged GET could then return another version's bytes. */
function resumeBudget(retry: RetryPolicy | undefined, etag: string | null): RetryPolicy {
  return { ...retry, maxRetries: retry && etag ? retry.maxRetries : 0, isRetryable: lostConnection };
}

/** Opens the full object key `key`; resumes up to `retry.maxRetries` times (none without a policy). */
export async function openDownload(
  api: ObjectApi,
  key: string,
  retry?: RetryPolicy,
): Promise<ReadableStream<Uint8Array>> {
  const first = await api.send({ method: "GET", key });
  const etag = first.headers.get("etag");
  const length = Number(first.headers.get("content-length") ?? NaN);
  if (!first.body) return new Blob([]).stream();
  // Half the default headroom: a download's garbage is small per MiB and s3rver, not our CPU, bounds its
  // speed, so twice the collections cost no throughput and take ~4 MiB off the 1 GiB peak (69 → 65 MiB).
  const garbage = new GarbageBound(8 * 1024 * 1024);
  return resumableStream({
    first: first.body,
    reopen: reopener(api, key, etag),
    where: api.describe(key),
    retry: resumeBudget(retry, etag),
    size: length,
    // A server gone silent mid-body: fetch's own timeout ended with the answer's headers.
    idleMs: api.timeoutMs,
    moved: (bytes) => garbage.moved(bytes),
  });
}

/**
 * The object `key` written into the empty file at `path` by `write` (the runtime's native writer, see
 * runtime.ts), resolving with its size. Past a lost connection, a short body or a server silent for the
 * API's timeout, the rest is read on as {@link openDownload} reads it, from the bytes the file holds,
 * and written after them. A failure to write the file is final and names it.
 */
export async function downloadInto(
  api: ObjectApi,
  key: string,
  path: string,
  write: BodyToFile,
  retry?: RetryPolicy,
): Promise<number> {
  const where = api.describe(key);
  const silence = new AbortController();
  const first = await api.send({ method: "GET", key, signal: silence.signal });
  const etag = first.headers.get("etag");
  const length = Number(first.headers.get("content-length") ?? NaN);
  const watch = watchGrowth(path, api.timeoutMs, () => silence.abort());
  let failure: unknown;
  try {
    await write(path, first);
  } catch (err) {
    // Fetch's errors carry no syscall; the file's do (ENOSPC from write(2)).
    if (typeof (err as { syscall?: unknown })?.syscall === "string") throw toVigoError(err, path);
    failure = err;
  } finally {
    clearInterval(watch);
  }
  let held: number;
  try {
    held = statSync(path).size;
  } catch (err) {
    throw toVigoError(err, path);
  }
  if (failure === undefined) {
    const short = shortBody(held, length);
    if (short === undefined) return held;
    failure = new TransientError(short);
  } else if (shortBody(held, length) === undefined && Number.isFinite(length)) {
    // Every byte had arrived when the connection failed: a ranged GET from the end would be refused (416).
    return held;
  } else if (silence.signal.aborted) {
    failure = new TransientError(`${where} after ${held} bytes: no data for ${api.timeoutMs} ms`);
  }
  const rest = resumableStream({
    first: new ReadableStream({ pull: (ctl) => ctl.error(failure) }),
    start: held,
    reopen: reopener(api, key, etag),
    where,
    retry: resumeBudget(retry, etag),
    size: length,
    idleMs: api.timeoutMs,
  });
  const file = await open(path, "r+").catch((err) => {
    throw toVigoError(err, path);
  });
  let at = held;
  try {
    for await (const chunk of rest) {
      for (let off = 0; off < chunk.length;) {
        off += (await file.write(chunk, off, chunk.length - off, at + off)).bytesWritten;
      }
      at += chunk.length;
    }
  } catch (err) {
    // The stream's own failures are typed; a raw one is the file's (ENOSPC).
    throw toVigoError(err, path);
  } finally {
    await file.close();
  }
  return at;
}

/** Calls `stalled` once the file at `path` has not grown for `idleMs`; stopped by clearInterval. */
function watchGrowth(path: string, idleMs: number, stalled: () => void): ReturnType<typeof setInterval> {
  let size = -1;
  let since = performance.now();
  return setInterval(() => {
    const now = statSync(path, { throwIfNoEntry: false })?.size ?? -1;
    if (now !== size) {
      size = now;
      since = performance.now();
    } else if (performance.now() - since > idleMs) {
      stalled();
    }
  }, Math.min(1000, Math.max(50, idleMs / 4)));
}

/**
 * Downloads that survive a dropped connection: when the body stream fails part-way, the rest is
 * fetched with `Range: bytes=N-` pinned to the same object version (`If-Match: <ETag>`), so a
 * restore of a large snapshot does not start over (or fail) because the server restarted. A short
 * body (fewer bytes than Content-Length) counts as a failure, never as the end of the object.
 */
import { BackendError } from "../../errors.ts";
import { backoffDelay, type RetryPolicy, TransientError } from "../retry.ts";
import type { ObjectApi } from "./object_api.ts";
import { notice } from "../../verbose.ts";
import { GarbageBound } from "../../runtime.ts";

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
  const what = `get ${api.describe(key)}`;
  const max = retry ? retry.maxRetries ?? 6 : 0;
  const log = retry?.log ?? notice;
  let reader = first.body.getReader();
  let received = 0;
  let resumes = 0;
  // A reader that cancels (list --remote reads 64 bytes) can do so while a pull is waiting on the body:
  // that read then fails or ends short, which is the cancel, not a lost connection to resume.
  let cancelled = false;
  // Half the default headroom: a download's garbage is small per MiB and s3rver, not our CPU, bounds its
  // speed, so twice the collections cost no throughput and take ~4 MiB off the 1 GiB peak (69 → 65 MiB).
  const garbage = new GarbageBound(8 * 1024 * 1024);

  const resume = async (cause: unknown): Promise<void> => {
    if (resumes >= max || !etag) {
      const msg = cause instanceof Error ? cause.message : String(cause);
      throw new BackendError(`${api.describe(key)}: download failed after ${received} bytes: ${msg}`, {
        cause,
      });
    }
    const delay = backoffDelay(resumes, retry);
    resumes++;
    log(`vigocli: retry ${resumes}/${max} in ${delay} ms: ${what}: connection lost after ${received} bytes`);
    await new Promise((r) => setTimeout(r, delay));
    if (cancelled) return;
    try {
      const res = await api.send({
        method: "GET",
        key,
        headers: { range: `bytes=${received}-`, "if-match": etag },
      });
      if (res.status !== 206 || !res.body) {
        await res.body?.cancel();
        throw new BackendError(`${api.describe(key)}: server ignored the Range request (HTTP ${res.status})`);
      }
      reader = res.body.getReader();
    } catch (err) {
      if (err instanceof TransientError) return await resume(err);
      throw err;
    }
  };

  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (cancelled) return;
          await resume(err);
          continue;
        }
        if (chunk.done) {
          if (cancelled) return;
          if (Number.isFinite(length) && received < length) {
            await resume(new TransientError(`body ended at ${received} of ${length} bytes`));
            continue;
          }
          ctl.close();
          return;
        }
        received += chunk.value.length;
        garbage.moved(chunk.value.length);
        ctl.enqueue(chunk.value);
        return;
      }
    },
    cancel(reason) {
      cancelled = true;
      return reader.cancel(reason);
    },
  });
}

/**
 * `backup create`'s destinations: a local file, a remote `archives/` object, or both at once. Both
 * at once is a fan-out sink that hands every chunk to both writers and waits for both, so the
 * slower one paces the archive writer and nothing accumulates in memory.
 */
import type { Backend } from "../backend/backend.ts";
import { type FileSinkResult, openFileSink } from "../archive/file_sink.ts";
import { openRemoteSink, type UploadResult } from "../archive/remote_archives.ts";

/** Where one `create` writes. At least one of the two is set. */
export interface CreateTarget {
  /** Local archive path. */
  local?: string;
  /** Backend and archive name for the upload. */
  remote?: { backend: Backend; name: string };
}

/** What a finished create wrote. */
export interface CreateOutcome {
  file?: FileSinkResult;
  upload?: UploadResult;
}

/** A sink to the target's destinations; `done` settles when every destination committed. */
export async function openCreateSink(
  target: CreateTarget,
): Promise<{ writable: WritableStream<Uint8Array>; done: Promise<CreateOutcome> }> {
  const local = target.local ? await openFileSink(target.local) : undefined;
  let remote;
  try {
    remote = target.remote ? await openRemoteSink(target.remote.backend, target.remote.name) : undefined;
  } catch (err) {
    await local?.writable.abort(err);
    throw err;
  }
  const sinks = [local, remote].filter((s) => s !== undefined);
  const writable = sinks.length === 1 ? sinks[0].writable : fanOut(sinks.map((s) => s.writable));
  const done = Promise.all([local?.done, remote?.done]).then(([file, upload]) => ({ file, upload }));
  done.catch(() => {});
  return { writable, done };
}

/** A sink writing every chunk to all `targets`, closing or aborting them together. */
function fanOut(targets: WritableStream<Uint8Array>[]): WritableStream<Uint8Array> {
  const writers = targets.map((t) => t.getWriter());
  const abortAll = (reason: unknown) => Promise.all(writers.map((w) => w.abort(reason).catch(() => {})));
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      try {
        await Promise.all(writers.map((w) => w.write(chunk)));
      } catch (err) {
        await abortAll(err);
        throw err;
      }
    },
    async close() {
      // The local file first: the upload's sidecar should not appear for an archive that failed locally.
      try {
        for (const w of writers) await w.close();
      } catch (err) {
        await abortAll(err);
        throw err;
      }
    },
    async abort(reason) {
      await abortAll(reason);
    },
  });
}

/**
 * `backup create`'s destinations: a local file, a remote `archives/` object, or both at once. Both
 * at once is a fan-out sink that hands every chunk to both writers and waits for both, so the
 * slower one paces the archive writer and nothing accumulates in memory.
 */
import type { Backend } from "../backend/backend.ts";
import type { StoppedOutcome } from "../archive/interrupt_cleanup.ts";
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
  signal?: AbortSignal,
): Promise<{ writable: WritableStream<Uint8Array>; done: Promise<CreateOutcome> }> {
  const local = target.local ? await openFileSink(target.local) : undefined;
  let remote;
  try {
    remote = target.remote
      ? await openRemoteSink(target.remote.backend, target.remote.name, signal)
      : undefined;
  } catch (err) {
    await local?.writable.abort(err);
    throw err;
  }
  const writable = local && remote ? fanOut(local.writable, remote) : (local?.writable ?? remote!.writable);
  const done = Promise.all([local?.done, remote?.done]).then(([file, upload]) => ({ file, upload }));
  done.catch(() => {});
  return { writable, done };
}

/**
 * A sink writing every chunk to the local file and the upload. On close the upload finishes first (the
 * archive object, then its sidecar), and only then is the local file committed: a failed upload then
 * leaves no local archive either, and a local commit that fails removes what was uploaded, so a failed
 * create leaves neither.
 */
function fanOut(
  local: WritableStream<Uint8Array>,
  remote: { writable: WritableStream<Uint8Array>; discard: () => Promise<void> },
): WritableStream<Uint8Array> {
  const [localWriter, remoteWriter] = [local.getWriter(), remote.writable.getWriter()];
  const abortBoth = (reason: unknown) =>
    Promise.all([localWriter, remoteWriter].map((w) => w.abort(reason).catch(() => {})));
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      try {
        await Promise.all([localWriter.write(chunk), remoteWriter.write(chunk)]);
      } catch (err) {
        await abortBoth(err);
        throw err;
      }
    },
    async close() {
      try {
        await remoteWriter.close();
      } catch (err) {
        await localWriter.abort(err).catch(() => {});
        throw err;
      }
      try {
        await localWriter.close();
      } catch (err) {
        // Best effort: the local failure is what the caller needs to see.
        await remote.discard().catch(() => {});
        throw err;
      }
    },
    async abort(reason) {
      await abortBoth(reason);
    },
  });
}

/**
 * The one line an interrupted `create` with an upload prints (runInterruptible's report): its local
 * temporary files are gone (the signal handler removed them), and what of the upload to `where` is left.
 */
export function interruptedCreateLine(where: string, outcome: StoppedOutcome, signal: string): string {
  const what = `interrupted (${signal}); temporary files removed`;
  switch (outcome.kind) {
    case "finished":
      return `interrupted (${signal}) as the create completed: ${where} is stored with its sidecar`;
    case "undone":
      return `${what}, and nothing of the upload to ${where} was left there`;
    case "left":
      return `${what}; ${outcome.error.message}`;
    case "unsettled":
      return `${what}; the upload's cleanup did not finish: a temporary object for ${where} (a temporary ` +
        "file, which a prune --remote removes, on sftp:// once it is a week old; a multipart upload, which a " +
        "bucket lifecycle rule removes) may be left";
  }
}

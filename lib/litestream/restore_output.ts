/**
 * The last steps of a replica restore: make the temp file durable and put it in place without ever
 * replacing an existing output.
 */
import { link, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { ExistsError, toVigoError } from "../errors.ts";
import { fsyncDirectory } from "../fsutil/atomic_file.ts";

/**
 * Starts fsyncing `path` on the runtime's thread pool and returns the fsync's completion. The fsync is
 * under way once this resolves, so a caller may then block its thread (a synchronous integrity_check)
 * while the disk writes: had the open's continuation been left to the event loop, the fsync would
 * only begin after the blocking work.
 */
export async function startFsync(path: string): Promise<{ done: Promise<void> }> {
  const f = await open(path, "r+").catch((err) => {
    throw toVigoError(err, path);
  });
  const done = f.sync().then(
    () => f.close(),
    async (err) => {
      await f.close();
      throw toVigoError(err, path);
    },
  );
  done.catch(() => {}); // the caller awaits it later; not an unhandled rejection meanwhile
  return { done };
}

/** Links the fsynced temp file into place (never replacing an existing file), then drops the temp name. */
export async function linkIntoPlace(
  tmp: string,
  out: string,
  checkOutput: (out: string) => Promise<void>,
): Promise<void> {
  try {
    await link(tmp, out);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new ExistsError(`${out}: appeared during the restore; refusing to overwrite it`);
    }
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") {
      throw toVigoError(err, out);
    }
    // No hard links on this filesystem: check-then-rename (a tiny race instead of none).
    await checkOutput(out);
    await rename(tmp, out).catch((e) => {
      throw toVigoError(e, out);
    });
    fsyncDirectory(dirname(out));
    return;
  }
  // The output is in place: a temporary name that cannot go now is a second name of it, which the next
  // restore's sweep removes (it carries this PID); failing here would report a restore that happened
  // as failed.
  await unlink(tmp).catch(() => {});
  fsyncDirectory(dirname(out));
}

/**
 * The SFTP backend's work on the server's paths that needs no more than one SFTP channel: create a file
 * (its directories too), tell a file in the way of a directory from a missing one, and rename over an
 * object. `notADirectory` words the error for a file where a directory must be, as the backend names it.
 */
import { posix } from "node:path";
import type { Buffer } from "node:buffer";
import type { IoError } from "../../errors.ts";
import { call, type RawSftp, type SftpAttrs } from "./ssh2_api.ts";
import { NO_SUCH_FILE, S_IFDIR, S_IFMT, statusCode } from "./sftp_status.ts";

/** How the backend names a file found where it keeps a directory. */
export type NotADirectory = (dir: string) => IoError;

/** Opens `path` for a new file (`wx`), making `dir` and its parents when they are missing. */
export async function createFile(
  sftp: RawSftp,
  path: string,
  dir: string,
  notADirectory: NotADirectory,
): Promise<Buffer> {
  for (let attempt = 0;; attempt++) {
    try {
      return await call<Buffer>((cb) => sftp.open(path, "wx", cb));
    } catch (err) {
      // A missing directory (or one a concurrent delete just pruned): make it and try again.
      if (statusCode(err) !== NO_SUCH_FILE || attempt >= 3) throw err;
      await mkdirs(sftp, dir, notADirectory);
    }
  }
}

async function mkdirs(sftp: RawSftp, dir: string, notADirectory: NotADirectory): Promise<void> {
  if (dir === "/" || dir === ".") return;
  try {
    await call<void>((cb) => sftp.mkdir(dir, cb));
  } catch (err) {
    if (statusCode(err) === NO_SUCH_FILE) {
      await mkdirs(sftp, posix.dirname(dir), notADirectory);
      await call<void>((cb) => sftp.mkdir(dir, cb)).catch(() => {});
      return;
    }
    // OpenSSH answers a plain FAILURE for "exists": fine if it is a directory now.
    const st = await call<SftpAttrs>((cb) => sftp.stat(dir, cb)).catch(() => undefined);
    if (!st) throw err;
    if ((st.mode & S_IFMT) !== S_IFDIR) throw notADirectory(dir);
  }
}

/**
 * The IoError naming the first of `path` and its parents that is there but no directory, when that
 * is why a request on `path` got NO_SUCH_FILE; undefined when the nearest one there is a directory
 * (the rest is simply missing) or cannot be told.
 */
export async function fileInTheWay(
  sftp: RawSftp,
  path: string,
  notADirectory: NotADirectory,
): Promise<IoError | undefined> {
  for (let d = path;; d = posix.dirname(d)) {
    const st = await call<SftpAttrs>((cb) => sftp.stat(d, cb)).catch((err) => statusCode(err));
    if (typeof st === "object") return (st.mode & S_IFMT) === S_IFDIR ? undefined : notADirectory(d);
    if (st !== NO_SUCH_FILE || d === posix.dirname(d)) return undefined;
  }
}

/** Renames `from` over `to`, atomically where the server has posix-rename@openssh.com. */
export async function renameOver(sftp: RawSftp, from: string, to: string): Promise<void> {
  if (sftp._extensions["posix-rename@openssh.com"]) {
    await call<void>((cb) => sftp.ext_openssh_rename(from, to, cb));
    return;
  }
  // Plain SFTPv3 rename refuses to replace: remove the old object first (a short window without it).
  await call<void>((cb) => sftp.unlink(to, cb)).catch(() => {});
  await call<void>((cb) => sftp.rename(from, to, cb));
}

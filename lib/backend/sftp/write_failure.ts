/**
 * What a put whose bytes the server refused with SSH_FX_FAILURE is told as. That status carries no reason
 * (OpenSSH answers ENOSPC, EDQUOT, EIO and a short write alike with it), so the server is asked how much
 * room is left (statvfs@openssh.com) while the failed file still holds its blocks: a full disk is said,
 * where the line was the bare word "Failure".
 */
import { BackendError } from "../../errors.ts";
import { call, type RawSftp, type SftpStatvfs } from "./ssh2_api.ts";
import { FAILURE, statusCode } from "./sftp_status.ts";
import { WRITE_WINDOW } from "./transfer.ts";

/**
 * Free bytes under which a refused write is taken for a full disk: less than a put has in flight at once,
 * so the writes refused were ones the disk had no room for.
 */
const NEARLY_FULL = WRITE_WINDOW;

/**
 * The error for `err`, which failed writing the object at `where` into the directory `dir`, when it is
 * SSH_FX_FAILURE; undefined for any other failure (the backend's usual mapping says those).
 */
export async function writeFailure(
  sftp: RawSftp,
  dir: string,
  where: string,
  err: unknown,
): Promise<BackendError | undefined> {
  if (statusCode(err) !== FAILURE) return undefined;
  const free = await freeBytes(sftp, dir);
  if (free !== undefined && free < NEARLY_FULL) {
    return new BackendError(`${where}: no space left on the server's disk (${free} bytes free)`, {
      cause: err,
    });
  }
  const room = free === undefined ? "" : `; ${free} bytes are free on its disk`;
  return new BackendError(
    `${where}: the server reported a failure (SSH_FX_FAILURE, which gives no reason) writing it${room}`,
    { cause: err },
  );
}

/** Bytes free to a user who is not root on the file system holding `dir`, if the server says. */
async function freeBytes(sftp: RawSftp, dir: string): Promise<number | undefined> {
  if (sftp._extensions["statvfs@openssh.com"] !== "2") return undefined;
  const st = await call<SftpStatvfs>((cb) => sftp.ext_openssh_statvfs(dir, cb)).catch(() => undefined);
  return st && Number(st.f_bavail) * Number(st.f_frsize);
}

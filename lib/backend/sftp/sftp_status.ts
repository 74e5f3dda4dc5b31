/**
 * What an SFTP server's replies mean to the backend (lib/backend/sftp/sftp_backend.ts): the status codes
 * and file-type bits it tests (draft-ietf-secsh-filexfer-02, OpenSSH's version 3), and the words a failure
 * is told in.
 */
import type { SftpStatusError } from "./ssh2_api.ts";

export const NO_SUCH_FILE = 2;
export const PERMISSION_DENIED = 3;
/** SSH_FX_FAILURE: anything else, with no reason given (OpenSSH's answer to ENOSPC, EEXIST, EIO…). */
export const FAILURE = 4;
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

/** The status code of a failed request (a string for ssh2's own failures), or undefined. */
export function statusCode(err: unknown): number | string | undefined {
  return (err as SftpStatusError | undefined)?.code;
}

/** An error's message, whatever was thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why the server would not remove a file, worded as file:// words it ("permission denied"). */
export function removalText(err: unknown): string {
  return statusCode(err) === PERMISSION_DENIED ? "permission denied" : errorText(err);
}

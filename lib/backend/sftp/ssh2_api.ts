/**
 * The slice of npm `ssh2`'s API this backend uses, typed (the package ships no types), plus small
 * promise wrappers. Keeping the untyped surface in one file means the rest of lib/backend/sftp/ is checked;
 * the ssh2 internals that save copies are typed where they are used (data_requests.ts, outbound_gcm.ts).
 */
import { Buffer } from "node:buffer";
import { useBunPlugin } from "../../runtime.ts";
import { type ReadDataFn, uncopiedRead, uncopiedWrite } from "./data_requests.ts";
import { SSH2_POLY1305_PLUGIN } from "./poly1305_stand_in.ts";

useBunPlugin(SSH2_POLY1305_PLUGIN);
// Loaded after the plugin is in place (a static import would be linked before it is). The client alone:
// the package's index also loads its SSH server, HTTP agents and key generator, ~2 MiB of RSS under Bun
// that a transfer never uses.
const { default: Client } = await import("ssh2/lib/client.js");

/** SFTP file attributes as ssh2 reports them. */
export interface SftpAttrs {
  mode: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/** One directory entry from READDIR. */
export interface SftpDirEntry {
  filename: string;
  attrs: SftpAttrs;
}

/** What statvfs@openssh.com answers: the file system holding a path (counts are 64-bit, numbers or bigints). */
export interface SftpStatvfs {
  /** Fundamental block size, the unit of the block counts. */
  f_frsize: number | bigint;
  /** Free blocks for a user who is not root. */
  f_bavail: number | bigint;
}

/** An SFTP failure: `code` is the SFTP status (2 no such file, 3 permission denied, 4 failure). */
export interface SftpStatusError extends Error {
  code?: number | string;
}

type Cb<T> = (err: SftpStatusError | undefined | null, value: T) => void;

/** ssh2's SFTPWrapper, the methods used here. */
export interface RawSftp {
  _extensions: Record<string, string>;
  _maxWriteLen: number;
  _maxReadLen: number;
  open(path: string, flags: string, cb: Cb<Buffer>): void;
  close(handle: Buffer, cb: Cb<void>): void;
  read(handle: Buffer, buf: Buffer, off: number, len: number, pos: number, cb: Cb<number>): void;
  write(handle: Buffer, buf: Buffer, off: number, len: number, pos: number, cb: Cb<void>): void;
  /** Ours, only on what {@link guardSftp} returns: a READ whose reply is not copied. */
  readData: ReadDataFn;
  fstat(handle: Buffer, cb: Cb<SftpAttrs>): void;
  stat(path: string, cb: Cb<SftpAttrs>): void;
  readdir(path: string, cb: Cb<SftpDirEntry[]>): void;
  mkdir(path: string, cb: Cb<void>): void;
  rmdir(path: string, cb: Cb<void>): void;
  unlink(path: string, cb: Cb<void>): void;
  rename(from: string, to: string, cb: Cb<void>): void;
  ext_openssh_rename(from: string, to: string, cb: Cb<void>): void;
  ext_openssh_fsync(handle: Buffer, cb: Cb<void>): void;
  ext_openssh_statvfs(path: string, cb: Cb<SftpStatvfs>): void;
  end(): void;
  /** The channel's end (server sent EOF) and close: its SFTP server process is gone. */
  on(event: "end" | "close", fn: () => void): RawSftp;
}

/** ssh2's Client, the methods used here. */
export interface RawClient {
  on(event: "ready" | "close" | "end", fn: () => void): RawClient;
  on(event: "error", fn: (err: Error & { level?: string; code?: string }) => void): RawClient;
  connect(opts: Record<string, unknown>): void;
  sftp(cb: Cb<RawSftp>): void;
  /** Disables Nagle on the socket: SFTP is request/response, delayed ACKs would add ~40 ms each. */
  setNoDelay(noDelay: boolean): void;
  end(): void;
}

/** A new, unconnected ssh2 Client. */
export function newClient(): RawClient {
  return new (Client as unknown as new () => RawClient)();
}

/** Calls a callback-style ssh2 method and returns a promise of its result. */
export function call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

/** A Buffer view of `u8` without copying (ssh2 insists on Buffer instances). */
export function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** The request methods of {@link RawSftp}, each taking a node-style callback last. */
const REQUESTS = [
  "open",
  "close",
  "read",
  "readData",
  "write",
  "fstat",
  "stat",
  "readdir",
  "mkdir",
  "rmdir",
  "unlink",
  "rename",
  "ext_openssh_rename",
  "ext_openssh_fsync",
  "ext_openssh_statvfs",
] as const;

/** ssh2's request `name` on `raw`, or ours where ours saves a copy of the data. */
function method(raw: RawSftp, name: typeof REQUESTS[number]): (...a: unknown[]) => void {
  if (name === "write") return uncopiedWrite(raw) as (...a: unknown[]) => void;
  if (name === "readData") return uncopiedRead(raw) as (...a: unknown[]) => void;
  return (raw[name] as (...a: unknown[]) => void).bind(raw);
}

/**
 * Wraps `raw` so no request can hang on a dead connection: ssh2 never answers a request sent after
 * the socket dropped, and not always those in flight when it dropped. After `fail(err)`, every
 * pending callback is called with `err` (once), and every new request fails at once. `onSilent` runs
 * when requests are pending and the server has answered none for `timeoutMs` (counted from the last
 * answer, not from each request, so a long pipelined transfer on a slow link is not cut short).
 */
export function guardSftp(
  raw: RawSftp,
  timeoutMs: number,
  onSilent: () => void,
): { sftp: RawSftp; fail(err: Error): void } {
  let dead: Error | undefined;
  const pending = new Set<(err: Error) => void>();
  let silence: ReturnType<typeof setTimeout> | undefined;
  const watch = () => {
    clearTimeout(silence);
    silence = pending.size > 0 && !dead ? setTimeout(onSilent, timeoutMs) : undefined;
  };
  const wrapped = Object.create(raw) as RawSftp;
  for (const name of REQUESTS) {
    const orig = method(raw, name);
    (wrapped as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const cb = args[args.length - 1] as (err?: Error | null, ...rest: unknown[]) => void;
      if (dead) {
        const err = dead;
        queueMicrotask(() => cb(err));
        return;
      }
      let done = false;
      const failOnce = (err: Error) => {
        if (done) return;
        done = true;
        cb(err);
      };
      pending.add(failOnce);
      if (!silence) watch();
      args[args.length - 1] = (err?: Error | null, ...rest: unknown[]) => {
        pending.delete(failOnce);
        watch();
        if (done) return;
        done = true;
        cb(err, ...rest);
      };
      orig(...args);
    };
  }
  return {
    sftp: wrapped,
    fail(err) {
      dead ??= err;
      for (const f of [...pending]) f(err);
      pending.clear();
      watch();
    },
  };
}

/**
 * `sftp://[user@]host[:port]/path` — a Backend over SSH (npm `ssh2`, pure JS, so it runs the same
 * under Deno, Node and Bun). Objects are plain files below the URL's path, so a Litestream sftp
 * replica and ours are the same tree. A put writes `.<name>.tmp-<hex>` next to the object, fsyncs it
 * (fsync@openssh.com), then renames it over the object (posix-rename@openssh.com, atomic replace), so
 * a dropped connection never leaves a file that looks complete; listings skip temp names, and remove
 * those a week old (a put that died with its connection: no upload takes that long, and the writer's
 * PID, which the file backend judges by, means nothing on another host). The
 * connection is opened lazily and re-opened after it drops; a dropped connection surfaces as a
 * TransientError, which the retry wrapper (lib/backend/retry.ts) retries. A download already handed
 * out is resumed here (../resumable_stream.ts), the one layer that knows the offset reached.
 */
import { homeDirOrNone, userNameOrNone } from "../../fsutil/home_dir.ts";
import { join, posix } from "node:path";
import process from "node:process";
import type { Buffer } from "node:buffer";
import {
  type Backend,
  fileWhereDirectory,
  LeftBehindError,
  type ObjectInfo,
  objectUrl,
  openBody,
  type PutBody,
  type PutOptions,
  stoppedPutError,
} from "../backend.ts";
import { checkTreeKey, tempNameFor, type TreeEntry, walkTree } from "../file_tree.ts";
import { type RetryPolicy, TransientError } from "../retry.ts";
import { staleTempDecision } from "../../fsutil/stale_temps.ts";
import { leftTemporaryError } from "../../fsutil/left_temp.ts";
import { BackendError, ExistsError, type IoError, NotFoundError, VigoError } from "../../errors.ts";
import { parseSftpConfig, type SftpConfig, type SftpOptions } from "./config.ts";
import {
  loadCredentials,
  loadKnownHosts,
  openSession,
  readSshConfig,
  type SftpCredentials,
  type SftpSession,
} from "./connection.ts";
import type { KnownHostEntry } from "./known_hosts.ts";
import { call, type RawSftp, type SftpAttrs, type SftpDirEntry } from "./ssh2_api.ts";
import { pipelinedRead, pipelinedWrite } from "./transfer.ts";
import { writeFailure } from "./write_failure.ts";
import { createFile, fileInTheWay, renameOver } from "./remote_paths.ts";
import { changedObjectError, type FileIdentity, identityChange } from "./file_identity.ts";
import { resumableStream } from "../resumable_stream.ts";
import { ListingTemps } from "../listing_temps.ts";
import {
  errorText,
  FAILURE,
  NO_SUCH_FILE,
  PERMISSION_DENIED,
  removalText,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  statusCode,
} from "./sftp_status.ts";

/** Unlinks in flight at once during a delete. */
const DELETE_PARALLEL = 16;

/**
 * Opens an SFTP backend: parses the URL, reads the key and known_hosts now (so configuration errors
 * surface at once); connects on first use.
 */
export async function openSftpBackend(url: string, opts: SftpOptions = {}): Promise<SftpBackend> {
  const homeDir = homeDirOrNone();
  const cfg = parseSftpConfig(url, opts, {
    homeDir,
    userName: userNameOrNone(),
    sshAuthSock: process.env.SSH_AUTH_SOCK,
    sshConfig: homeDir === undefined ? undefined : await readSshConfig(join(homeDir, ".ssh", "config")),
  });
  const creds = await loadCredentials(cfg);
  const knownHosts = await loadKnownHosts(cfg.knownHostsPath);
  return new SftpBackend(cfg, creds, knownHosts, opts.requestTimeoutMs, opts.retry);
}

/**
 * Who removes a put's temporary file left behind: its PID is another host's, so only its age says it is
 * dead; and the commands that only look (list --remote, status) spare it (Backend.spareTemps).
 */
const LISTING_SWEEP =
  "the first listing of its directory, once it is a week old, by a command that removes leftovers " +
  "(list --remote and the others that only look remove none)";

/** A Backend storing objects as files below a directory on an SSH server. */
export class SftpBackend implements Backend {
  readonly url: string;
  #session?: Promise<SftpSession>;

  constructor(
    private readonly cfg: SftpConfig,
    private readonly creds: SftpCredentials,
    private readonly knownHosts: KnownHostEntry[],
    private readonly requestTimeoutMs = 60_000,
    /** Policy of resuming a download whose session was lost; none resumed without one. */
    private readonly retry?: RetryPolicy,
  ) {
    this.url = cfg.displayUrl;
  }

  #path(key: string): string {
    checkTreeKey(key);
    return posix.join(this.cfg.root, key);
  }

  #where(key: string): string {
    return objectUrl(this, key);
  }

  /** The live session, (re)connecting when there is none or it dropped. */
  async #sftp(): Promise<{ sftp: RawSftp; session: SftpSession }> {
    let pending = this.#session;
    if (pending) {
      const s = await pending.catch(() => undefined);
      if (!s || s.closed) {
        if (this.#session === pending) this.#session = undefined;
        pending = undefined;
      }
    }
    if (!pending) {
      pending = openSession(this.cfg, this.creds, this.knownHosts, this.requestTimeoutMs);
      this.#session = pending;
      pending.catch(() => {
        if (this.#session === pending) this.#session = undefined;
      });
    }
    const session = await pending;
    return { sftp: session.sftp, session };
  }

  /** Runs `fn` on the session and turns SFTP/SSH failures into typed errors naming `where`. */
  async #run<T>(where: string, fn: (sftp: RawSftp, session: SftpSession) => Promise<T>): Promise<T> {
    const { sftp, session } = await this.#sftp();
    try {
      return await fn(sftp, session);
    } catch (err) {
      throw this.#mapError(where, err, session);
    }
  }

  #mapError(where: string, err: unknown, session: SftpSession): VigoError {
    if (err instanceof VigoError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    if (session.closed || /No response from server|Not connected|ECONNRESET|EPIPE/i.test(msg)) {
      return new TransientError(`${where}: SSH connection lost (${msg})`, undefined, { cause: err });
    }
    const code = statusCode(err);
    if (code === NO_SUCH_FILE) return new NotFoundError(`${where}: not found`, { cause: err });
    if (code === PERMISSION_DENIED) return new BackendError(`${where}: permission denied`, { cause: err });
    if (code === FAILURE) {
      const said = "the server reported a failure (SSH_FX_FAILURE, which gives no reason)";
      return new BackendError(`${where}: ${said}`, { cause: err });
    }
    return new BackendError(`${where}: ${msg}`, { cause: err });
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<void> {
    const path = this.#path(key);
    const dir = posix.dirname(path);
    const tmp = posix.join(dir, tempNameFor(posix.basename(path)));
    const tmpUrl = objectUrl(this, posix.join(posix.dirname(key), posix.basename(tmp)));
    let opened: Uint8Array | ReadableStream<Uint8Array> | undefined;
    opts.onTemporary?.({ url: tmpUrl, sweep: LISTING_SWEEP });
    await this.#run(this.#where(key), async (sftp, session) => {
      const handle = await createFile(sftp, tmp, dir, (d) => this.#notADirectory(d));
      let open = true;
      let renaming = false;
      try {
        opened = openBody(body);
        await pipelinedWrite(sftp, handle, opened);
        if (sftp._extensions["fsync@openssh.com"]) {
          await call<void>((cb) => sftp.ext_openssh_fsync(handle, cb));
        }
        open = false;
        await call<void>((cb) => sftp.close(handle, cb));
        renaming = true;
        if (opts.noReplace) await this.#renameNoReplace(sftp, tmp, path, key);
        else await renameOver(sftp, tmp, path);
      } catch (err) {
        if (open) await call<void>((cb) => sftp.close(handle, cb)).catch(() => {});
        // Asked before the temp file goes: its blocks are what filled the disk.
        const refused = renaming ? undefined : await writeFailure(sftp, dir, this.#where(key), err);
        await call<void>((cb) => sftp.unlink(tmp, cb)).catch((left) => {
          if (opts.signal?.aborted) {
            throw new LeftBehindError(`${tmpUrl}: could not be removed (${errorText(left)})`, { cause: err });
          }
          // The failure stays the error, its line naming what it leaves, as file:// does.
          const failure = refused ?? this.#mapError(this.#where(key), err, session);
          throw leftTemporaryError(failure, tmpUrl, removalText(left), LISTING_SWEEP);
        });
        throw refused ?? err;
      }
    }).catch(async (err) => {
      // The body may be half read: release it so its producer is not left waiting.
      const stream = opened ?? (body instanceof ReadableStream ? body : undefined);
      if (stream instanceof ReadableStream) await stream.cancel(err).catch(() => {});
      throw stoppedPutError(err, opts.signal);
    });
  }

  /**
   * A file where the backend keeps a directory (archives/, the root), said as file:// says it
   * ({@link fileWhereDirectory}): OpenSSH answers a request below one with NO_SUCH_FILE (ENOTDIR) and a
   * mkdir of it with a bare FAILURE.
   */
  #notADirectory(dir: string): IoError {
    return fileWhereDirectory(this.#pathUrl(dir));
  }

  /** A path on the server as a URL, as objectUrl names a key: the root's own URL below it. */
  #pathUrl(path: string): string {
    const root = this.cfg.root;
    if (path === root) return this.url.replace(/\/+$/, "");
    if (root === ".") return objectUrl(this, path);
    const inside = root === "/" ? "/" : `${root}/`;
    if (path.startsWith(inside)) return objectUrl(this, path.slice(inside.length));
    return `${/^sftp:\/\/[^/]*/.exec(this.url)![0]}${path}`;
  }

  /** SFTPv3's plain rename, which OpenSSH carries out as link(2) + unlink(2): it refuses an existing name. */
  async #renameNoReplace(sftp: RawSftp, from: string, to: string, key: string): Promise<void> {
    try {
      await call<void>((cb) => sftp.rename(from, to, cb));
    } catch (err) {
      if (await call<SftpAttrs>((cb) => sftp.stat(to, cb)).then(() => true, () => false)) {
        throw new ExistsError(`${objectUrl(this, key)}: already exists (refusing to overwrite)`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  async get(key: string): Promise<ReadableStream<Uint8Array>> {
    const path = this.#path(key);
    const where = this.#where(key);
    const { stream, identity } = await this.#openRead(path, where, 0);
    if (!this.retry) return stream;
    const reopen = async (offset: number) => (await this.#openRead(path, where, offset, identity)).stream;
    return resumableStream({ first: stream, reopen, where, retry: this.retry });
  }

  /**
   * Opens `path` and streams it from `offset`, with what identifies the file; `was` (a resumed read)
   * is that of the first open, and a file that no longer matches it is refused.
   */
  async #openRead(
    path: string,
    where: string,
    offset: number,
    was?: FileIdentity,
  ): Promise<{ stream: ReadableStream<Uint8Array>; identity: FileIdentity }> {
    try {
      return await this.#run(where, async (sftp, session) => {
        const handle = await call<Buffer>((cb) => sftp.open(path, "r", cb)).catch(async (err) => {
          if (statusCode(err) !== NO_SUCH_FILE) throw err;
          throw (await fileInTheWay(sftp, posix.dirname(path), (d) => this.#notADirectory(d))) ?? err;
        });
        try {
          const st = await call<SftpAttrs>((cb) => sftp.fstat(handle, cb));
          if ((st.mode & S_IFMT) !== S_IFREG) {
            throw Object.assign(new Error("not a file"), { code: NO_SUCH_FILE });
          }
          const identity = { size: st.size, mtime: st.mtime };
          const change = was && identityChange(was, identity);
          if (change) throw changedObjectError(where, offset, change);
          const close = () => call<void>((cb) => sftp.close(handle, cb));
          const stream = pipelinedRead(sftp, handle, offset, st.size, {
            onEnd: close,
            mapError: (err) => this.#mapError(where, err, session),
          });
          return { stream, identity };
        } catch (err) {
          await call<void>((cb) => sftp.close(handle, cb)).catch(() => {});
          throw err;
        }
      });
    } catch (err) {
      if (was && err instanceof NotFoundError) throw changedObjectError(where, offset, "removed");
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const path = this.#path(key);
    return await this.#run(this.#where(key), async (sftp) => {
      try {
        const st = await call<SftpAttrs>((cb) => sftp.stat(path, cb));
        if ((st.mode & S_IFMT) !== S_IFREG) return null;
        return { key, size: st.size, mtime: new Date(st.mtime * 1000) };
      } catch (err) {
        if (statusCode(err) !== NO_SUCH_FILE) throw err;
        const blocked = await fileInTheWay(sftp, posix.dirname(path), (d) => this.#notADirectory(d));
        if (blocked) throw blocked;
        return null;
      }
    });
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return walkTree(prefix, (dirKey) => this.#readDir(dirKey));
  }

  async #readDir(dirKey: string): Promise<TreeEntry[]> {
    const dir = dirKey === "" ? this.cfg.root : posix.join(this.cfg.root, dirKey);
    const entries = await this.#run(this.#where(dirKey || "."), async (sftp) => {
      try {
        return await call<SftpDirEntry[]>((cb) => sftp.readdir(dir, cb));
      } catch (err) {
        if (statusCode(err) !== NO_SUCH_FILE) throw err;
        // Not an empty listing when a file stands there: list and prune --remote reported nothing, exit 0.
        const blocked = await fileInTheWay(sftp, dir, (d) => this.#notADirectory(d));
        if (blocked) throw blocked;
        return [];
      }
    });
    const now = Date.now();
    const stale = entries.filter((e) =>
      (e.attrs.mode & S_IFMT) === S_IFREG &&
      staleTempDecision(e.filename, now - e.attrs.mtime * 1000, () => true) === "remove"
    );
    if (this.#temps.spared) stale.forEach((e) => this.#temps.record(dirKey, e.filename));
    else if (stale.length > 0) await this.#removeStale(dir, dirKey, stale.map((e) => e.filename));
    return entries
      .filter((e) => e.filename !== "." && e.filename !== "..")
      .map((e) => ({ e, type: e.attrs.mode & S_IFMT }))
      .filter(({ type }) => type === S_IFDIR || type === S_IFREG)
      .map(({ e, type }) => {
        const info = { size: e.attrs.size, mtime: new Date(e.attrs.mtime * 1000) };
        return { name: e.filename, dir: type === S_IFDIR, info: () => Promise.resolve(info) };
      });
  }

  /** The stale temp files this backend's listings removed, or found while sparing them. */
  #temps = new ListingTemps();

  removedTemps(): readonly string[] {
    return this.#temps.keys();
  }

  spareTemps(): void {
    this.#temps.spare();
  }

  /** Best effort: a temp file that cannot be removed now is tried again by the next listing. */
  async #removeStale(dir: string, dirKey: string, names: string[]): Promise<void> {
    await this.#run(`remove stale temp files in ${this.url}`, async (sftp) => {
      for (const n of names) {
        const removed = await call<void>((cb) => sftp.unlink(posix.join(dir, n), cb)).then(
          () => true,
          () => false,
        );
        if (removed) this.#temps.record(dirKey, n);
      }
    }).catch(() => {});
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const paths = keys.map((k) => this.#path(k));
    await this.#run(`delete ${keys.length} object(s) in ${this.url}`, async (sftp, session) => {
      const queue = [...paths];
      const worker = async () => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
          try {
            await call<void>((cb) => sftp.unlink(p!, cb));
          } catch (err) {
            if (statusCode(err) !== NO_SUCH_FILE) throw this.#mapError(p, err, session);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(DELETE_PARALLEL, queue.length) }, worker));
      // Prune directories left empty (a deleted generation leaves no husk for Litestream to list).
      const dirs = [...new Set(paths.map((p) => posix.dirname(p)))].sort((a, b) => b.length - a.length);
      for (const d of dirs) await this.#pruneEmpty(sftp, d);
    });
  }

  async #pruneEmpty(sftp: RawSftp, dir: string): Promise<void> {
    const root = this.cfg.root;
    for (let d = dir; d !== root && d.startsWith(root === "." ? "" : `${root}/`); d = posix.dirname(d)) {
      if (d === "." || d === "/") return;
      try {
        await call<void>((cb) => sftp.rmdir(d, cb));
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }

  async close(): Promise<void> {
    const pending = this.#session;
    this.#session = undefined;
    const s = await pending?.catch(() => undefined);
    s?.close();
  }
}

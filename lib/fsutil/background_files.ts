/**
 * Creates small files on a worker thread while the calling thread goes on. Restoring thousands of
 * files spends most of its time in the kernel creating them (ext4 inode allocation: 1.2 ms per file
 * in a slow minute on this VM), and on the thread that also inflates, hashes and writes the database
 * that time is all serial: restore of a 1 GiB database + 10,000 files spent 3.5 of its 8.4 s in
 * `openat` on the main thread (README, performance decisions). Jobs are batched into few messages,
 * in-flight bytes are bounded, and the first failure is reported by {@link BackgroundFiles.flush},
 * naming its file. Where workers are unavailable the files are written on the calling thread.
 */
import { closeSync, fchmodSync, fchownSync, futimesSync, openSync, writeSync } from "node:fs";
import { toVigoError } from "../errors.ts";
import { inlineWorker } from "../codec/inline_worker.ts";

/** One file to create (exclusively: it must not exist) with its metadata. */
export interface FileJob {
  path: string;
  /** The file's bytes, alone in their ArrayBuffer: it is transferred to the worker (detached here). */
  data: Uint8Array;
  mode: number;
  /** Whole seconds since the epoch, negative before 1970. */
  mtime: number;
  /** Owner to set (only when running as root). */
  owner?: { uid: number; gid: number };
}

/** Bytes handed to the worker per message. */
const BATCH_BYTES = 256 * 1024;
/** Files per message. */
const BATCH_FILES = 64;
/** Bytes accepted but not yet written before {@link BackgroundFiles.write} waits. */
const MAX_IN_FLIGHT = 8 * 1024 * 1024;

/**
 * The shared control words: STOP is set by {@link BackgroundFiles.stopNow}; BUSY is 1 while the worker
 * may be creating a file. The worker raises BUSY before it looks at STOP and the stopper raises STOP
 * before it looks at BUSY (sequentially consistent Atomics), so either the worker sees STOP and creates
 * nothing more, or the stopper sees BUSY and waits for that file to be done.
 */
const STOP = 0;
const BUSY = 1;
/** How long {@link BackgroundFiles.stopNow} waits for the file being created (it is one small file). */
const STOP_WAIT_MS = 5_000;

/** Mirrors {@link writeJob}, for the worker (which cannot import our modules). */
const WORKER_SOURCE = `
import { closeSync, fchmodSync, fchownSync, futimesSync, openSync, writeSync } from "node:fs";
let control;
self.onmessage = (event) => {
  if (event.data.control) {
    control = event.data.control;
    return;
  }
  let bytes = 0;
  for (const job of event.data) {
    Atomics.store(control, ${BUSY}, 1);
    if (Atomics.load(control, ${STOP}) === 1) {
      Atomics.store(control, ${BUSY}, 0);
      Atomics.notify(control, ${BUSY});
      return;
    }
    try {
      const fd = openSync(job.path, "wx", 0o600);
      try {
        for (let off = 0; off < job.data.length;) off += writeSync(fd, job.data, off, job.data.length - off);
        if (job.owner) fchownSync(fd, job.owner.uid, job.owner.gid);
        fchmodSync(fd, job.mode & 0o7777);
        const t = new Date(job.mtime * 1000);
        futimesSync(fd, t, t);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      self.postMessage({ type: "error", path: job.path, code: err && err.code, message: String(err && err.message || err) });
      return;
    } finally {
      Atomics.store(control, ${BUSY}, 0);
      Atomics.notify(control, ${BUSY});
    }
    bytes += job.data.length;
  }
  self.postMessage({ type: "done", bytes });
};
`;

function writeJob(job: FileJob): void {
  const fd = openSync(job.path, "wx", 0o600);
  try {
    for (let off = 0; off < job.data.length;) off += writeSync(fd, job.data, off, job.data.length - off);
    if (job.owner) fchownSync(fd, job.owner.uid, job.owner.gid);
    fchmodSync(fd, job.mode & 0o7777);
    // A Date, not seconds: node:fs (Deno and Bun) takes a negative number (before 1970) for "now".
    const t = new Date(job.mtime * 1000);
    futimesSync(fd, t, t);
  } finally {
    closeSync(fd);
  }
}

/** Files created in the background; call {@link BackgroundFiles.flush} before relying on them. */
export class BackgroundFiles {
  #worker: Worker | undefined;
  #batch: FileJob[] = [];
  #batchBytes = 0;
  #inFlight = 0;
  #failure: Error | undefined;
  #waiters: (() => void)[] = [];
  #messages = 0;
  #control = new Int32Array(new SharedArrayBuffer(8));

  constructor() {
    this.#worker = inlineWorker(WORKER_SOURCE);
    if (!this.#worker) return;
    this.#worker.postMessage({ control: this.#control });
    this.#worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { type: string; bytes: number; path: string; code?: string; message: string };
      this.#messages--;
      if (m.type === "error") {
        this.#failure ??= toVigoError(Object.assign(new Error(m.message), { code: m.code }), m.path);
        this.#inFlight = 0;
      } else {
        this.#inFlight -= m.bytes;
      }
      this.#wake();
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      // A dead worker answers nothing more: nothing is in flight any longer.
      e.preventDefault();
      this.#failure ??= new Error(`file writer thread failed: ${e.message}`);
      this.#messages = 0;
      this.#wake();
    };
  }

  /** Queues a file; waits only while too many bytes are in flight. Throws an earlier job's failure. */
  async write(job: FileJob): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (!this.#worker) {
      try {
        return writeJob(job);
      } catch (err) {
        throw toVigoError(err, job.path);
      }
    }
    this.#batch.push(job);
    this.#batchBytes += job.data.length;
    this.#inFlight += job.data.length;
    if (this.#batch.length >= BATCH_FILES || this.#batchBytes >= BATCH_BYTES) this.#send();
    while (this.#inFlight > MAX_IN_FLIGHT && this.#messages > 0 && !this.#failure) await this.#wait();
    if (this.#failure) throw this.#failure;
  }

  /**
   * Waits until every queued file exists; throws the first failure, naming its file, once the worker
   * has settled everything sent (so nothing is still being written when the caller cleans up).
   */
  async flush(): Promise<void> {
    if (this.#batch.length > 0 && !this.#failure) this.#send();
    await this.#settled();
    if (this.#failure) throw this.#failure;
  }

  /**
   * Drops what is not sent yet, waits for what is (a directory removed meanwhile would fill up again),
   * and ends the worker. Idempotent.
   */
  async close(): Promise<void> {
    this.#batch = [];
    await this.#settled();
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  /**
   * For a signal handler, which cannot await: once this returns, the worker creates no more files (the
   * one it was creating is finished first, waiting at most STOP_WAIT_MS), so the directory it wrote
   * into can be removed for good. Later writes are refused.
   */
  stopNow(): void {
    Atomics.store(this.#control, STOP, 1);
    const until = Date.now() + STOP_WAIT_MS;
    while (Atomics.load(this.#control, BUSY) === 1 && Date.now() < until) {
      Atomics.wait(this.#control, BUSY, 1, until - Date.now());
    }
    this.#failure ??= new Error("file writer stopped");
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#messages = 0;
    this.#wake();
  }

  async #settled(): Promise<void> {
    while (this.#messages > 0) await this.#wait();
  }

  #send(): void {
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#messages++;
    // Moved, not copied: a job's bytes belong to the job (FileJob.data).
    this.#worker!.postMessage(batch, batch.map((job) => job.data.buffer as ArrayBuffer));
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

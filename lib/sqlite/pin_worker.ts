/**
 * The thread that holds create's pin (lib/sqlite/pinned_database.ts): its source, inline so the
 * executables need no extra file, and the messages it answers, in order — pin, copy (rollback-journal
 * mode only), check, release.
 */
import { BusyError } from "../errors.ts";
import { inlineWorker } from "../codec/inline_worker.ts";
import { sqliteToVigoError } from "./sqlite_errors.ts";

// The worker holds the pinning connection. Busy waits happen between attempts, in the event loop
// (lib/sqlite/read_lock.ts says why). Descriptors cannot be shared with a worker (Deno's are
// per-thread resource ids), so PinnedDatabase.pin reads the -shm around the worker's BEGIN.
const WORKER_SOURCE = `
import { backup, DatabaseSync } from "node:sqlite";
let db;
const busy = (e) => /database is locked|database table is locked|busy/i.test(String(e && e.message || e));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function pin(path, timeoutMs) {
  if (!db) {
    db = new DatabaseSync(path, { readOnly: true, timeout: 0 });
    // Deno ignores the timeout option (its default is 5 s): waits belong in this loop.
    db.exec("PRAGMA busy_timeout = 0");
  }
  if (db.isTransaction) db.exec("ROLLBACK");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.exec("BEGIN");
      // The first read takes the shared lock (and, in WAL mode, a read mark) the transaction keeps.
      db.prepare("SELECT count(*) FROM sqlite_schema").get();
      return {
        mode: String(db.prepare("PRAGMA journal_mode").get().journal_mode).toLowerCase(),
        pageSize: Number(db.prepare("PRAGMA page_size").get().page_size),
        pageCount: Number(db.prepare("PRAGMA page_count").get().page_count),
      };
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      if (!busy(err)) throw err;
    }
    if (Date.now() >= deadline) throw new Error("database is locked");
    await sleep(50);
  }
}
self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === "pin") {
      self.postMessage({ type: "pinned", ...(await pin(msg.path, msg.timeoutMs)) });
    } else if (msg.type === "copy") {
      // Inside the pin's transaction, in one step; then the copy alone is checked and read.
      await backup(db, msg.path, { rate: -1 });
      db.exec("ROLLBACK");
      db.close();
      db = new DatabaseSync(msg.uri, { readOnly: true });
      self.postMessage({ type: "copied" });
    } else if (msg.type === "check") {
      let integrity;
      try {
        integrity = db.prepare("PRAGMA integrity_check(10)").all().map((r) => r.integrity_check).join("; ");
      } catch (err) {
        integrity = String(err && err.message || err);
      }
      self.postMessage({ type: "checked", integrity });
    } else if (msg.type === "release") {
      if (db && db.isTransaction) db.exec("ROLLBACK");
      db?.close();
      self.postMessage({ type: "released" });
    }
  } catch (err) {
    self.postMessage({ type: "failed", message: String(err && err.message || err) });
  }
};
`;

export type WorkerReply =
  | { type: "pinned"; mode: string; pageSize: number; pageCount: number }
  | { type: "copied" }
  | { type: "failed"; message: string }
  | { type: "checked"; integrity: string }
  | { type: "released" };

/** A started pin worker and its replies, or undefined where the runtime cannot start one. */
export function startPinWorker(): { worker: Worker; replies: ReplyQueue } | undefined {
  const worker = inlineWorker(WORKER_SOURCE);
  return worker && { worker, replies: new ReplyQueue(worker) };
}

/** A failure the worker reported, as our error. */
export function workerFailure(message: string, path: string, lockTimeoutMs: number): Error {
  if (message === "database is locked") {
    return new BusyError(
      `${path}: database is locked by another process; gave up after ${Math.round(lockTimeoutMs / 1000)} s ` +
        "(see --lock-timeout)",
    );
  }
  return sqliteToVigoError(new Error(message), path);
}

/** Ends the pin (after any integrity_check still running) and the thread. */
export async function releaseWorker(worker: Worker, replies: ReplyQueue): Promise<void> {
  try {
    worker.postMessage({ type: "release" });
    // An integrity_check nobody awaited answers first.
    for (
      let r = await replies.next();
      r.type !== "released" && r.type !== "failed";
      r = await replies.next()
    );
  } finally {
    worker.terminate();
  }
}

/** The worker's replies, taken in order. Once the worker has died, every later wait gets its error. */
export class ReplyQueue {
  #queue: WorkerReply[] = [];
  #waiters: ((r: WorkerReply) => void)[] = [];
  #death: WorkerReply | undefined;

  constructor(worker: Worker) {
    worker.onmessage = (e: MessageEvent<WorkerReply>) => this.#push(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#death = { type: "failed", message: `worker thread failed: ${e.message}` };
      for (const w of this.#waiters.splice(0)) w(this.#death);
    };
  }

  #push(r: WorkerReply): void {
    const w = this.#waiters.shift();
    if (w) w(r);
    else this.#queue.push(r);
  }

  next(): Promise<WorkerReply> {
    const r = this.#queue.shift() ?? this.#death;
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * `PRAGMA integrity_check` (with page size and count) on a worker thread, so a caller can check a
 * finished database file while it goes on with other work: restore checks the staged database while
 * the rest of the archive is still being extracted. The worker source is inline (inlineWorker), so
 * compiled executables need no extra file; where workers (or node:sqlite inside them) are unavailable,
 * the check runs on the calling thread when its result is awaited, and stays correct, only slower.
 */
import { inlineWorker } from "../codec/inline_worker.ts";
import { type DatabaseFacts, immutableUri, inspectDatabase } from "./database_facts.ts";

// Mirrors inspectDatabase(): the same pragmas on the same read-only, immutable open.
const WORKER_SOURCE = `
import { DatabaseSync } from "node:sqlite";
self.onmessage = (event) => {
  const uri = event.data.uri;
  let facts;
  let db;
  try {
    db = new DatabaseSync(uri, { readOnly: true });
    const pageSize = Number(db.prepare("PRAGMA page_size").get().page_size);
    const pageCount = Number(db.prepare("PRAGMA page_count").get().page_count);
    const rows = db.prepare("PRAGMA integrity_check(10)").all();
    facts = { pageSize, pageCount, integrity: rows.map((r) => r.integrity_check).join("; ") };
  } catch (err) {
    facts = { pageSize: 0, pageCount: 0, integrity: String(err && err.message || err) };
  } finally {
    try { db?.close(); } catch { /* the result already says what went wrong */ }
  }
  self.postMessage(facts);
};
`;

/** A check under way. */
export interface BackgroundCheck {
  /** Settles with the facts once the check has finished (never rejects for a bad database). */
  result(): Promise<DatabaseFacts>;
  /** Stops a check whose result is no longer wanted (the file may then be removed). */
  cancel(): void;
}

/**
 * Starts checking the database at `path`, which nobody may write to until the check has settled.
 * Runs on a worker thread when possible, else on the calling thread inside {@link BackgroundCheck.result}.
 */
export function startIntegrityCheck(path: string): BackgroundCheck {
  const worker = path ? inlineWorker(WORKER_SOURCE) : undefined;
  if (!worker) return { result: () => Promise.resolve(inspectDatabase(path)), cancel: () => {} };
  let settle!: (facts: DatabaseFacts) => void;
  const facts = new Promise<DatabaseFacts>((resolve) => settle = resolve);
  let settled = false;
  const finish = (result: () => DatabaseFacts) => {
    if (settled) return;
    settled = true;
    worker.terminate();
    settle(result());
  };
  worker.onmessage = (event: MessageEvent<DatabaseFacts>) => finish(() => event.data);
  // A worker that cannot run (e.g. no node:sqlite inside workers): check on this thread instead.
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    finish(() => inspectDatabase(path));
  };
  worker.postMessage({ uri: immutableUri(path) });
  return {
    result: () => facts,
    cancel: () => finish(() => ({ pageSize: 0, pageCount: 0, integrity: "check cancelled" })),
  };
}

/**
 * A separate writer process for replication tests (started by `startSqliteWriter` in
 * ./litestream.ts): one row per transaction into `t(id, ts, payload)` of a WAL-mode database,
 * printing `committed <id> <epoch ms>` to stdout after each commit returns, and
 * `checkpoint <busy> <ms>` after each checkpoint of its own (SQLite's busy column, the call's duration).
 * Args: DB_PATH OPTIONS_JSON (see WriterOptions). Stops on SIGTERM/SIGINT after the current commit.
 */
import { DatabaseSync } from "node:sqlite";

const [dbPath, optsJson] = Deno.args;
const o = JSON.parse(optsJson ?? "{}") as {
  txPerSecond?: number;
  maxTx?: number;
  payload?: number;
  checkpointEvery?: number;
  checkpointMode?: string;
};
let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => (stopping = true));

const db = new DatabaseSync(dbPath);
db.exec("PRAGMA busy_timeout = 10000");
db.exec("PRAGMA journal_mode = WAL");
db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, payload BLOB)");
const start = (db.prepare("SELECT COALESCE(MAX(id), 0) AS m FROM t").get() as { m: number }).m;
const insert = db.prepare("INSERT INTO t (id, ts, payload) VALUES (?, ?, randomblob(?))");
const payload = o.payload ?? 100;
const interval = o.txPerSecond ? 1000 / o.txPerSecond : 0;
const t0 = performance.now();
const enc = new TextEncoder();
function writeOut(text: string): void {
  const bytes = enc.encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}
let lines = "";
let lastFlush = performance.now();
for (let n = 1; !stopping && (o.maxTx === undefined || n <= o.maxTx); n++) {
  const id = start + n;
  const now = Date.now();
  insert.run(id, now, payload);
  lines += `committed ${id} ${now}\n`;
  if (o.checkpointEvery && n % o.checkpointEvery === 0) {
    const t = performance.now();
    const r = db.prepare(`PRAGMA wal_checkpoint(${o.checkpointMode ?? "PASSIVE"})`).get() as { busy: number };
    lines += `checkpoint ${r.busy} ${Math.round(performance.now() - t)}\n`;
  }
  // Batch stdout writes (a write per row would cap the rate), but never hold them long.
  if (performance.now() - lastFlush > 20 || lines.length > 8192) {
    writeOut(lines);
    lines = "";
    lastFlush = performance.now();
  }
  if (interval > 0) {
    const due = t0 + n * interval - performance.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
    else if (n % 200 === 0) await new Promise((r) => setTimeout(r, 0)); // behind schedule: still let signals in
  } else if (n % 200 === 0) await new Promise((r) => setTimeout(r, 0)); // let signals in
}
writeOut(lines);
db.close();

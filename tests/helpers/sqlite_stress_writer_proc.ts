/**
 * A writer process for scripts/replicate_stress.ts: one application connection of many. Writer `w`
 * inserts ids w·10^8 + 1, 2, … into `t(id, ts, payload)`, one or (a long transaction held open for
 * `longTxMs`) several rows per transaction, pauses idle now and then, and runs
 * `PRAGMA wal_checkpoint(<mode>)` every `checkpointEvery` transactions. After each commit returns it
 * prints `c <w> <last n> <epoch ms>`, so what a replica must hold is known per writer and by time.
 * Args: DB_PATH OPTIONS_JSON. Stops on SIGTERM after the current transaction.
 */
import { DatabaseSync } from "node:sqlite";

const [dbPath, optsJson] = Deno.args;
const o = JSON.parse(optsJson) as {
  w: number;
  txPerSecond: number;
  checkpointEvery: number;
  checkpointMode: string;
  longTxEvery: number;
  longTxMs: number;
  pauseEvery: number;
  pauseMs: number;
};
let stopping = false;
Deno.addSignalListener("SIGTERM", () => (stopping = true));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const db = new DatabaseSync(dbPath);
db.exec("PRAGMA busy_timeout = 10000");
db.exec("PRAGMA journal_mode = WAL");
const base = o.w * 100_000_000;
const last = db.prepare("SELECT COALESCE(MAX(id), ?) AS m FROM t WHERE id > ? AND id < ?")
  .get(base, base, base + 100_000_000) as { m: number };
let n = last.m - base;
const insert = db.prepare("INSERT INTO t (id, ts, payload) VALUES (?, ?, randomblob(?))");
const enc = new TextEncoder();
const interval = 1000 / o.txPerSecond;
let lines = "";
let flushed = performance.now();
const flush = () => {
  const bytes = enc.encode(lines);
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
  lines = "";
  flushed = performance.now();
};
let t0 = performance.now();
for (let tx = 1; !stopping; tx++) {
  if (tx % o.longTxEvery === 0) {
    db.exec("BEGIN IMMEDIATE");
    const rows = 2 + (tx % 5);
    for (let i = 0; i < rows; i++) {
      insert.run(base + ++n, Date.now(), 2000);
      await sleep(o.longTxMs / rows);
    }
    db.exec("COMMIT");
  } else {
    insert.run(base + ++n, Date.now(), 100 + (tx % 7) * 300);
  }
  lines += `c ${o.w} ${n} ${Date.now()}\n`;
  if (tx % o.checkpointEvery === 0) db.exec(`PRAGMA wal_checkpoint(${o.checkpointMode})`);
  if (performance.now() - flushed > 10) flush();
  if (tx % o.pauseEvery === 0) {
    flush();
    await sleep(o.pauseMs);
    t0 = performance.now() - tx * interval;
  }
  const due = t0 + tx * interval - performance.now();
  if (due > 0) await sleep(due);
  else if (tx % 100 === 0) await sleep(0);
}
flush();
db.close();

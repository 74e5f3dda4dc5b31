/**
 * A steady native SQLite writer in its own process, for replication lag measurements: one row per
 * transaction at a target rate into `load(id, payload)`, each payload starting with a findable marker
 * `vigolag:<10-digit id>;` so the moment a row first appears in a replica's WAL segment can be
 * matched to its commit time. Prints `committed <id> <epoch ms>` lines (batched) to stdout.
 *
 * As a module: {@link startLoad}. As a process: `deno run -A sqlite_load.ts DB '{"txPerSecond":500}'`.
 * (tests/helpers/sqlite_writer_proc.ts is the general writer; this one adds the markers.)
 */
import { DatabaseSync } from "node:sqlite";
import { type Background, background } from "./litestream.ts";

/** Options of {@link startLoad}. */
export interface LoadOptions {
  txPerSecond: number;
  /** Payload bytes after the marker (default 100). */
  payload?: number;
}

/** The marker of row `id` as it appears in page images. */
export function lagMarker(id: number): string {
  return `vigolag:${String(id).padStart(10, "0")};`;
}

/** Finds every marker id in `bytes`. */
export function findMarkers(bytes: Uint8Array): number[] {
  const text = new TextDecoder("latin1").decode(bytes);
  return [...text.matchAll(/vigolag:(\d{10});/g)].map((m) => Number(m[1]));
}

/** Starts the writer process; `committed()` parses what it reported so far. */
export function startLoad(dbPath: string, o: LoadOptions): Background & { committed(): Map<number, number> } {
  const bg = background(Deno.execPath(), [
    "run",
    "-A",
    "--quiet",
    new URL(import.meta.url).pathname,
    dbPath,
    JSON.stringify(o),
  ]);
  return {
    ...bg,
    committed() {
      const m = new Map<number, number>();
      for (const x of bg.output().matchAll(/^committed (\d+) (\d+)$/gm)) m.set(+x[1], +x[2]);
      return m;
    },
  };
}

async function main(dbPath: string, o: LoadOptions): Promise<void> {
  let stopping = false;
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => (stopping = true));
  const db = new DatabaseSync(dbPath);
  db.exec("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  db.exec("CREATE TABLE IF NOT EXISTS load (id INTEGER PRIMARY KEY, payload BLOB)");
  const insert = db.prepare("INSERT INTO load (id, payload) VALUES (?, ?)");
  const filler = "x".repeat(o.payload ?? 100);
  const enc = new TextEncoder();
  const t0 = performance.now();
  let lines = "";
  let flushed = performance.now();
  for (let id = 1; !stopping; id++) {
    insert.run(id, enc.encode(lagMarker(id) + filler));
    lines += `committed ${id} ${Date.now()}\n`;
    if (performance.now() - flushed > 50) {
      Deno.stdout.writeSync(enc.encode(lines));
      lines = "";
      flushed = performance.now();
    }
    const due = t0 + (id * 1000) / o.txPerSecond - performance.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
    else if (id % 100 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  Deno.stdout.writeSync(enc.encode(lines));
  db.close();
}

if (import.meta.main) await main(Deno.args[0], JSON.parse(Deno.args[1]) as LoadOptions);

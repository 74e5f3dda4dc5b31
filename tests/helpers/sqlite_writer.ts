/**
 * A separate native process that writes to a SQLite database continuously, the way a live Vigo server
 * does: the real `sqlite3` CLI in WAL mode, fed one-row INSERT transactions (plus an UPDATE now and
 * then, so existing pages change too) through its stdin at a steady rate. (litestream.ts's
 * `startSqliteWriter` is the other writer: node:sqlite in its own process, reporting every commit.)
 */

/** A running writer. */
export interface Sqlite3CliWriter {
  /** Stops feeding statements, lets sqlite3 finish and exit; resolves with the statements sent. */
  stop(): Promise<{ transactions: number; seconds: number }>;
}

/** Options of {@link startSqlite3CliWriter}. */
export interface Sqlite3CliWriterOptions {
  /** Target transaction rate; default 400/s (the tests require ≥ 200/s). */
  txPerSecond?: number;
  /** Payload bytes per row; default 200. */
  rowBytes?: number;
}

/** Creates table `t(id INTEGER PRIMARY KEY, v BLOB, n INTEGER)` if needed and starts writing. */
export function startSqlite3CliWriter(dbPath: string, opts: Sqlite3CliWriterOptions = {}): Sqlite3CliWriter {
  const rate = opts.txPerSecond ?? 400;
  const rowBytes = opts.rowBytes ?? 200;
  const child = new Deno.Command("sqlite3", {
    args: ["-batch", dbPath],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const enc = new TextEncoder();
  const start = performance.now();
  let sent = 0;
  let running = true;
  const loop = (async () => {
    await writer.write(enc.encode(
      ".timeout 10000\nPRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n" +
        "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB, n INTEGER);\n",
    ));
    const tickMs = 20;
    while (running) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate) - sent;
      let sql = "";
      for (let i = 0; i < due; i++) {
        sql += (sent + i) % 10 === 9
          ? "UPDATE t SET n = n + 1 WHERE id = (SELECT abs(random()) % (SELECT max(id) FROM t) + 1);\n"
          : `INSERT INTO t(v, n) VALUES (randomblob(${rowBytes}), 0);\n`;
      }
      if (due > 0) {
        await writer.write(enc.encode(sql));
        sent += due;
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await writer.close();
      const status = await child.status;
      const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
      if (!status.success) throw new Error(`sqlite3 writer failed (${status.code}): ${err}`);
      return { transactions: sent, seconds: (performance.now() - start) / 1000 };
    },
  };
}

/** Runs one query with the sqlite3 CLI (a separate process) and returns its trimmed output. */
export async function sqliteQuery(dbPath: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", {
    args: ["-batch", "-cmd", ".timeout 10000", dbPath, sql],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`sqlite3 ${sql}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

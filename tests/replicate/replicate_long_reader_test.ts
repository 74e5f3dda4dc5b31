/**
 * An application reader holding an old snapshot (Litestream #724's trigger: long read transactions
 * made the WAL exceed its threshold and Litestream's RESTART checkpoint then froze all writers). Our
 * checkpoints stay PASSIVE: while the reader lasts they report "incomplete" and back off, the writer
 * is never blocked, replication continues; once the reader ends the WAL is reset again.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { litestreamRestore, sleep, startSqliteWriter } from "../helpers/litestream.ts";
import { Replicator } from "../../lib/replicate/replicator.ts";
import { assertRows } from "./replicate_env.ts";

/** Waits until `cond` holds, for at most 120 s (then fails showing `lines`). */
async function until(cond: () => boolean, what: string, lines: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!cond()) {
    assert(Date.now() < deadline, `no ${what} within 120 s:\n${lines.join("\n")}`);
    await sleep(100);
  }
}

Deno.test("replicate: a long application reader never makes us block the writer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-reader-" });
  const db = `${dir}/app.db`;
  const url = `file://${dir}/replica`;
  const lines: string[] = [];
  const writer = startSqliteWriter(db, { txPerSecond: 300 });
  try {
    await writer.waitFor(/committed 1 /);
    const r = new Replicator({
      dbPath: db,
      backup: {
        url,
        destination: { scheme: "file" },
        retentionMs: 86_400_000,
        syncIntervalMs: 250,
        snapshotIntervalMs: 86_400_000,
      },
      checkpoint: { minFrames: 200 },
      log: (level, msg) => lines.push(`${Date.now()} ${level} ${msg}`),
    });
    await r.start();
    // A separate sqlite3 process opens a read transaction and keeps it until we have been seen to back
    // off from it: the writer must first fill the WAL past minFrames, which a loaded machine's writer,
    // its commits slowed by fsync, did not within a fixed 5 s (2 of 3 loaded runs).
    const reader = new Deno.Command("sqlite3", {
      args: [db],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
    const w = reader.stdin.getWriter();
    await w.write(new TextEncoder().encode("BEGIN; SELECT count(*) FROM t;\n"));
    // Its count printed: the snapshot is held.
    const out = reader.stdout.getReader();
    await out.read();
    const readerStart = Date.now();
    await until(() => lines.some((l) => /checkpoint incomplete/.test(l)), "a checkpoint backing off", lines);
    await sleep(1000); // the writer keeps committing while the reader holds on and we back off
    await w.write(new TextEncoder().encode("COMMIT;\n"));
    await w.close();
    await out.cancel();
    await reader.status;
    const readerEnd = Date.now();
    // Past the 10 s checkpoint back-off: the WAL is checkpointed again once the reader has gone.
    await until(
      () => lines.some((l) => /INFO checkpoint$/.test(l) && Number(l.split(" ")[0]) > readerEnd),
      "a checkpoint after the reader ended",
      lines,
    );
    assertEquals(await writer.stop(), 0);
    await r.stop();

    const committed = writer.committed();
    let maxGap = 0;
    for (let i = 1; i < committed.length; i++) {
      maxGap = Math.max(maxGap, committed[i].ms - committed[i - 1].ms);
    }
    console.error(`longest pause between commits ${maxGap} ms`);
    assert(maxGap < 1000, `longest pause between commits ${maxGap} ms`);
    const at = (re: RegExp) => lines.filter((l) => re.test(l)).map((l) => Number(l.split(" ")[0]));
    assert(at(/checkpoint incomplete/).some((t) => t >= readerStart && t <= readerEnd), lines.join("\n"));
    assert(
      at(/INFO checkpoint$/).some((t) => t > readerEnd),
      `checkpoint after the reader ended:\n${lines.join("\n")}`,
    );
    const ls = await litestreamRestore({ out: `${dir}/ls.db`, url });
    assertEquals(ls.code, 0, ls.stderr);
    await assertRows(`${dir}/ls.db`, committed.map((c) => c.id), "litestream restore");
  } finally {
    await writer.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

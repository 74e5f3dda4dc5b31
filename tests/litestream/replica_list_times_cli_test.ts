/**
 * The times `replica list` prints are the ones `replica restore --timestamp` needs: a time copied
 * from the text output restores up to that object. They were cut to the second, so a copied time fell
 * before the object it named (the snapshot: exit 9; the last segment: its rows missing).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import {
  createWriterDb,
  rowIds,
  sleep,
  startLitestreamReplicate,
  startSqliteWriter,
  writeLitestreamConfig,
} from "../helpers/litestream.ts";

/** Every file under `dir`. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await files(p));
    else out.push(p);
  }
  return out;
}

Deno.test("replica list: times copied from the text output restore to the snapshot and to the last row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-list-times-" });
  try {
    const db = `${dir}/app.db`;
    await createWriterDb(db);
    const config = await writeLitestreamConfig(`${dir}/litestream.yml`, {
      dbPath: db,
      replicaUrl: `file://${dir}/replica`,
      syncInterval: "100ms",
      monitorInterval: "100ms",
    });
    const ls = startLitestreamReplicate(config);
    try {
      await ls.waitFor(/initialized db|replicating to/, 20_000);
      const writer = startSqliteWriter(db, { maxTx: 100, txPerSecond: 100 });
      assertEquals(await writer.wait(), 0, writer.output());
      await sleep(1_500);
    } finally {
      await ls.stop("SIGTERM");
    }
    // Object times are upload times (file mtimes); give each a millisecond part, as nearly every
    // upload has, so that a time printed without it is earlier than the object.
    for (const f of await files(`${dir}/replica`)) {
      const t = Math.floor((await Deno.stat(f)).mtime!.getTime() / 1000) * 1000 + 834;
      await Deno.utime(f, new Date(t), new Date(t));
    }
    const url = `file://${dir}/replica`;
    const text = await runCli(["backup", "replica", "list", "--url", url]);
    assertEquals(text.code, 0, text.stderr);
    const span = /time span +(\S+) \.\. (\S+)/.exec(text.stdout);
    const snapshot = /index [0-9a-f]{8} +\d+ bytes +(\S+)/.exec(text.stdout);
    assert(span && snapshot, text.stdout);
    const json = JSON.parse((await runCli(["backup", "replica", "list", "--url", url, "--json"])).stdout);
    const g = json.generations[0];
    assertEquals([span[1], span[2], snapshot[1]], [g.created_at, g.updated_at, g.snapshots[0].created_at]);

    const all = await runCli(["backup", "replica", "restore", "--url", url, "-o", `${dir}/all.db`]);
    assertEquals(all.code, 0, all.stderr);
    const restoreAt = (t: string, out: string) =>
      runCli(["backup", "replica", "restore", "--url", url, "-o", out, "--timestamp", t]);
    const atEnd = await restoreAt(span[2], `${dir}/end.db`);
    assertEquals(atEnd.code, 0, atEnd.stderr);
    assertEquals(await rowIds(`${dir}/end.db`), await rowIds(`${dir}/all.db`));
    const atSnapshot = await restoreAt(snapshot[1], `${dir}/snap.db`);
    assertEquals(atSnapshot.code, 0, atSnapshot.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

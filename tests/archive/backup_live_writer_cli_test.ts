/**
 * `backup create` while a separate native process (the sqlite3 CLI) writes to the database in WAL
 * mode at ≥ 200 transactions/s: every archive verifies, its database passes integrity_check with
 * standard tools, and its row count lies between the counts read just before and just after.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { sqliteQuery, startSqlite3CliWriter } from "../helpers/sqlite_writer.ts";
import { makeServerRoot } from "./fixture.ts";

const ROUNDS = 4;

Deno.test("create under a live WAL writer: consistent, verifiable snapshots", async () => {
  const fx = await makeServerRoot({ rows: 3000 });
  const writer = startSqlite3CliWriter(fx.db, { txPerSecond: 500 });
  const extract = await Deno.makeTempDir({ prefix: "vigo-live-" });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    const rows0 = Number(await sqliteQuery(fx.db, "SELECT count(*) FROM t"));
    for (let i = 0; i < ROUNDS; i++) {
      const out = join(fx.root, "snapshots", `live-${i}.tar.gz`);
      const before = Number(await sqliteQuery(fx.db, "SELECT count(*) FROM t"));
      const r = await runCli(["backup", "create", ...fx.flags, out]);
      const after = Number(await sqliteQuery(fx.db, "SELECT count(*) FROM t"));
      assert.equal(r.code, 0, r.stderr);

      const v = await runCli(["backup", "verify", out]);
      assert.equal(v.code, 0, v.stderr);
      const dir = join(extract, String(i));
      await Deno.mkdir(dir);
      const tar = await new Deno.Command("tar", { args: ["xzf", out, "-C", dir, "db/vigo.db"] }).output();
      assert.equal(tar.code, 0);
      const db = join(dir, "db/vigo.db");
      assert.equal(await sqliteQuery(db, "PRAGMA integrity_check"), "ok");
      const n = Number(await sqliteQuery(db, "SELECT count(*) FROM t"));
      assert.ok(
        before <= n && n <= after,
        `archive ${i}: ${n} rows, expected between ${before} and ${after}`,
      );
      assert.ok(after > before, "the writer kept writing during the backup");
    }
    const rows1 = Number(await sqliteQuery(fx.db, "SELECT count(*) FROM t"));
    const insertsPerSecond = (rows1 - rows0) / ((performance.now() - t0) / 1000);
    // 9 of every 10 transactions are INSERTs, so ≥ 180 inserts/s means ≥ 200 transactions/s.
    assert.ok(insertsPerSecond >= 180, `writer managed only ${insertsPerSecond.toFixed(0)} inserts/s`);
  } finally {
    await writer.stop();
    await Deno.remove(extract, { recursive: true });
  }
  assert.equal(await sqliteQuery(fx.db, "PRAGMA integrity_check"), "ok");
  await Deno.remove(fx.root, { recursive: true });
});

/**
 * `replica restore --timestamp` with a date or time that does not exist is a usage error naming the
 * value (exit 2), as the real Litestream refuses it; Date.parse rolled it over to another day. And T
 * leaves out what was written after it by less than a millisecond, as Litestream does.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { LITESTREAM } from "../helpers/tools.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { Replicator } from "../../lib/replicate/replicator.ts";

const IMPOSSIBLE = ["2026-11-31T00:00:00Z", "2026-02-29T12:00:00+02:00", "2026-11-30T24:00:00Z"];

Deno.test("replica restore --timestamp: a date or hour that does not exist → exit 2 naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-ts-" });
  try {
    const restoreAt = (t: string) =>
      runCli([
        "backup",
        "replica",
        "restore",
        "--url",
        `file://${dir}`,
        "-o",
        `${dir}/o.db`,
        "--timestamp",
        t,
      ]);
    for (const t of IMPOSSIBLE) {
      const r = await restoreAt(t);
      assertEquals(r.code, 2, `${t}: ${r.stderr}`);
      assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert(r.stderr.startsWith(`vigocli: --timestamp ${JSON.stringify(t)}: no such time (`), r.stderr);
    }
    // A real leap day is a time: the restore goes on to find an empty replica (exit 9).
    const leap = await restoreAt("2028-02-29T12:00:00Z");
    assertEquals(leap.code, 9, leap.stderr);
    // Litestream refuses the same values.
    const ls = await new Deno.Command(LITESTREAM, {
      args: ["restore", "-o", `${dir}/o.db`, "-timestamp", IMPOSSIBLE[0], `file://${dir}`],
    }).output();
    assertEquals(ls.code, 1);
    assert(new TextDecoder().decode(ls.stderr).includes("invalid -timestamp"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replica restore --timestamp: RFC 3339 as VIGO_NOW and Litestream read it, seconds and zone required", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-ts-" });
  const restore = (t: string) =>
    runCli(["backup", "replica", "restore", "--url", `file://${dir}`, "-o", `${dir}/o.db`, "--timestamp", t]);
  try {
    // Before: --timestamp had a pattern of its own that also took these, which VIGO_NOW and
    // Litestream's -timestamp refuse.
    for (const t of ["2026-03-13T14:30Z", "2026-03-13T14:30:00+0530"]) {
      const r = await restore(t);
      assertEquals(r.code, 2, `${t}: ${r.stderr}`);
      assertEquals(
        r.stderr,
        `vigocli: --timestamp ${
          JSON.stringify(t)
        }: not an RFC 3339 time with a zone (e.g. 2026-03-13T14:30:00Z)\n`,
      );
      const ls = await new Deno.Command(LITESTREAM, {
        args: ["restore", "-o", `${dir}/o.db`, "-timestamp", t, `file://${dir}`],
      }).output();
      assertEquals(ls.code, 1, t);
      assert(new TextDecoder().decode(ls.stderr).includes("invalid -timestamp"), t);
    }
    // Every form the guide shows is a time: the restore goes on to find an empty replica (exit 9).
    for (const t of ["2026-03-13T14:30:00Z", "2026-03-13T16:30:00+02:00", "2026-03-13T14:30:00.255Z"]) {
      const r = await restore(t);
      assertEquals(r.code, 9, `${t}: ${r.stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Against a compiled executable only (phases c and d): Deno's stat gives whole milliseconds, so run from
// sources under Deno the segment 0.5 ms after T looks as if written at T. Bun, which ships, gives the
// nanoseconds.
Deno.test({
  name:
    "replica restore --timestamp T leaves out a segment written less than a millisecond after T, as Litestream does",
  ignore: !Deno.env.get("VIGOCLI_BIN"),
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-ts-" });
  const db = `${dir}/app.db`;
  const replica = `${dir}/replica`;
  try {
    await sqliteQuery(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(v); INSERT INTO t VALUES ('a');");
    const r = new Replicator({
      dbPath: db,
      backup: {
        url: `file://${replica}`,
        destination: { scheme: "file" },
        retentionMs: 86_400_000,
        syncIntervalMs: 100,
        snapshotIntervalMs: 86_400_000,
      },
      log: () => {},
    });
    await r.start();
    const segments = () =>
      [...Deno.readDirSync(replica + "/generations")].flatMap((g) =>
        [...Deno.readDirSync(`${replica}/generations/${g.name}/wal`)].map((s) =>
          `${replica}/generations/${g.name}/wal/${s.name}`
        )
      ).sort();
    const snapshotFiles = () =>
      [...Deno.readDirSync(replica + "/generations")].flatMap((g) =>
        [...Deno.readDirSync(`${replica}/generations/${g.name}/snapshots`)].map((s) =>
          `${replica}/generations/${g.name}/snapshots/${s.name}`
        )
      );
    // 'a' in the snapshot and the first segment before 'b' is written.
    const ready = () => {
      try {
        return segments().length > 0 && snapshotFiles().length > 0;
      } catch {
        return false; // not made yet
      }
    };
    while (!ready()) await new Promise((res) => setTimeout(res, 50));
    const before = new Set(segments());
    await sqliteQuery(db, "INSERT INTO t VALUES ('b');");
    while (segments().length === before.size) await new Promise((res) => setTimeout(res, 50));
    await r.stop();
    // Everything at T - 10 s but the segments written since 'b' (a whole second T), 0.5 ms after T.
    const t = Math.floor(Date.now() / 1000) - 60;
    const snapshots = snapshotFiles();
    for (const f of [...segments(), ...snapshots]) {
      // touch, as Deno.utimeSync drops the fraction of a second.
      const when = before.has(f) || snapshots.includes(f) ? `@${t - 10}` : `@${t}.000500000`;
      const touched = await new Deno.Command("touch", { args: ["-m", "-d", when, f] }).output();
      assertEquals(touched.code, 0);
    }
    const at = new Date(t * 1000).toISOString();
    const ours = await runCli(
      [
        "backup",
        "replica",
        "restore",
        "--url",
        `file://${replica}`,
        "-o",
        `${dir}/ours.db`,
        "--timestamp",
        at,
      ],
    );
    assertEquals(ours.code, 0, ours.stderr);
    const ls = await new Deno.Command(LITESTREAM, {
      args: ["restore", "-o", `${dir}/ls.db`, "-timestamp", at, `file://${replica}`],
    }).output();
    assertEquals(ls.code, 0, new TextDecoder().decode(ls.stderr));
    const rows = (p: string) => sqliteQuery(p, "SELECT group_concat(v) FROM t");
    assertEquals(await rows(`${dir}/ls.db`), "a");
    assertEquals(await rows(`${dir}/ours.db`), "a");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

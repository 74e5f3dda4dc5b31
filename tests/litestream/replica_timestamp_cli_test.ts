/**
 * `replica restore --timestamp` with a date or time that does not exist is a usage error naming the
 * value (exit 2), as the real Litestream refuses it; Date.parse rolled it over to another day.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { LITESTREAM } from "../helpers/tools.ts";

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

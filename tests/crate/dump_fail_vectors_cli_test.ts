/**
 * Must-fail vectors of `crate restore-dump` (tests/vectors/dump/fail/, docs/dump-format.md): each dump
 * in expected.json fails with exit 4 and exactly one line naming the dump, the statement and its line,
 * and leaves no database behind. None quotes the dump's row data.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../helpers/cli.ts";
import { scratch, show } from "./fixture.ts";

const FAIL = fileURLToPath(new URL("../vectors/dump/fail/", import.meta.url));
const expected = JSON.parse(readFileSync(join(FAIL, "expected.json"), "utf8")) as Record<string, string>;

for (const [name, problem] of Object.entries(expected)) {
  Deno.test(`restore-dump of the must-fail vector ${name}: exit 4, one line saying where`, async () => {
    const s = scratch();
    try {
      const dump = join(FAIL, name);
      const out = join(s.dir, "out.db");
      const r = await runCli(["crate", "restore-dump", dump, "-o", out]);
      assert.equal(r.code, 4, show(r));
      assert.equal(r.stderr, `vigocli: ${dump}: ${problem}\n`);
      // data-token.sql's value (SQLite's error quoted it whole)
      assert.doesNotMatch(r.stderr, /hunter2/);
      assert.equal(existsSync(out), false);
    } finally {
      s.cleanup();
    }
  });
}

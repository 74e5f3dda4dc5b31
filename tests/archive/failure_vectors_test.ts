/**
 * The must-fail archive vectors of docs/archive-format.md (tests/vectors/archive/fail/), read as data:
 * `verify` must reject each archive with the stated error class, exit code and message, and `restore`
 * must refuse every "unsafe path" one without writing anything.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { verifyArchive } from "../../lib/archive/verify.ts";
import { restoreArchive } from "../../lib/archive/restore.ts";
import { toVigoError, type VigoError } from "../../lib/errors.ts";

interface Expectation {
  archive: string;
  expect: string;
  error: string;
  exit_code: number;
  message: string;
  comment: string;
}

const KINDS = [
  "header failure",
  "truncated",
  "corrupt",
  "sidecar mismatch",
  "unsafe path",
  "checksum mismatch",
  "manifest mismatch",
];
const dir = new URL("../vectors/archive/fail/", import.meta.url).pathname;
const cases: Expectation[] = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".json"))
  .sort()
  .map((n) => JSON.parse(Deno.readTextFileSync(join(dir, n))));

async function failure(p: Promise<unknown>): Promise<VigoError> {
  try {
    await p;
  } catch (err) {
    return toVigoError(err);
  }
  throw new Error("succeeded, must fail");
}

Deno.test("archive failure vectors: every file states a known kind, its error and exit code", () => {
  assert(cases.length >= 15, `only ${cases.length} archive failure vectors`);
  for (const c of cases) {
    assert(KINDS.includes(c.expect), `${c.archive}: unknown failure kind ${JSON.stringify(c.expect)}`);
    assert(c.error && Number.isInteger(c.exit_code) && c.message && c.comment, `${c.archive}: incomplete`);
  }
  assertEquals([...new Set(cases.map((c) => c.expect))].sort(), [...KINDS].sort());
});

for (const c of cases) {
  Deno.test(`archive failure vector ${c.archive}: ${c.expect}`, async () => {
    const work = await Deno.makeTempDir({ prefix: "vigo-failvec-" });
    try {
      const e = await failure(verifyArchive(join(dir, c.archive), { workDir: work }));
      assertEquals([e.constructor.name, e.exitCode], [c.error, c.exit_code], e.message);
      assert(
        e.message.includes(c.message),
        `${JSON.stringify(e.message)} lacks ${JSON.stringify(c.message)}`,
      );
      if (c.expect === "unsafe path") {
        const target = join(work, "target");
        const r = await failure(restoreArchive({
          archive: join(dir, c.archive),
          target,
          dbOnly: false,
          dryRun: false,
          force: false,
          now: new Date(),
        }));
        assert(r.message.includes(c.message), r.message);
        assertEquals([...Deno.readDirSync(work)].map((d) => d.name), [], "restore left something behind");
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  });
}

/**
 * The must-fail archive vectors of docs/archive-format.md (tests/vectors/archive/fail/), read as data:
 * `verify` must reject each archive with the stated error class, exit code and message, and `restore`
 * must refuse every "unsafe path" one without writing anything.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { verifyArchive } from "../../lib/archive/verify.ts";
import { restoreArchive } from "../../lib/archive/restore.ts";
import { BadInputError, toVigoError, type VigoError } from "../../lib/errors.ts";
import { openArchive } from "../../lib/archive/archive_source.ts";
import { readManifestEntry } from "../../lib/archive/archive_scan.ts";
import { runCli } from "../helpers/cli.ts";

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

Deno.test("openArchive + readManifestEntry reject a bad gzip, tar or manifest as backup inspect does: a BadInputError naming the archive", async () => {
  const names = ["corrupt_gzip_crc", "truncated_gzip", "tar_header_checksum", "manifest_not_first"];
  await Promise.all(names.map(async (name) => {
    const path = join(dir, `${name}.tar.gz`);
    const cli = await runCli(["backup", "inspect", path]);
    const archive = await openArchive(path, { headOnly: true });
    try {
      // As inspect reads: the manifest, then the next header, which checks the manifest's last member.
      const e = await readManifestEntry(archive.tar).then(() => archive.tar.next()).then(
        () => {
          throw new Error(`${name}: accepted`);
        },
        (err) => err,
      );
      assert(e instanceof BadInputError, `${name}: ${e}`);
      assertEquals([e.exitCode, `vigocli: ${e.message}\n`], [cli.code, cli.stderr], name);
    } finally {
      await archive.close();
    }
  }));
});

/**
 * An archive named after a clock that ran ahead (found by review, data loss): the archive of the old
 * state, named about five years ahead as a `backup create` on such a host names it, and a later archive
 * with the newest data under the real time. `prune --keep 1` kept the old one as "newest" and deleted the
 * newest data (exit 0); now it keeps both and warns of the first. `status` took its 0 s age, `list` gave
 * no sign. The name is made relative to the clock, so the scenario stays one in the future.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { archiveFileName } from "../../lib/archive/archive_names.ts";
import { runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { makeServerRoot } from "./fixture.ts";

const YEAR_MS = 365 * 86_400_000;

Deno.test("prune --keep 1 keeps the real newest archive and leaves one dated in the future, with a warning", async () => {
  const fx = await makeServerRoot({ rows: 50 });
  const snaps = join(fx.root, "snapshots");
  try {
    const cli = async (...args: string[]) => {
      const r = await runCli([...args, ...fx.flags]);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      return r;
    };
    const future = archiveFileName(new Date(Date.now() + 5 * YEAR_MS));
    await cli("backup", "create", join(snaps, future));
    await sqliteQuery(fx.db, "INSERT INTO t(v, n) VALUES (x'00', -1);");
    await cli("backup", "create");
    const archives = () =>
      [...Deno.readDirSync(snaps)].map((e) => e.name).filter((n) => n.endsWith(".tar.gz"));
    const real = archives().find((n) => n !== future)!;
    assert.ok(real, `no second archive: ${archives()}`);

    const listed = (await cli("backup", "list")).stdout.split("\n");
    assert.match(listed.find((l) => l.startsWith(future))!, /\(dated in the future\)$/);
    assert.doesNotMatch(listed.find((l) => l.startsWith(real))!, /future/);

    const status = JSON.parse((await cli("backup", "status", "--json")).stdout);
    assert.equal(status.archives.local.newest.name, real);
    assert.deepEqual(status.archives.local.dated_in_future.map((f: { name: string }) => f.name), [future]);
    assert.ok(
      status.summary.problems.some((p: string) => p.includes(`${future} (${snaps}) is dated in the future`)),
    );

    const dry = JSON.parse((await cli("backup", "prune", "--keep", "1", "--dry-run", "--json")).stdout);
    assert.deepEqual(
      dry.archives.map((a: { name: string; action: string; dated_in_future: boolean }) => [
        a.name,
        a.action,
        a.dated_in_future,
      ]),
      [[future, "keep", true], [real, "keep", false]],
    );

    const r = await cli("backup", "prune", "--keep", "1");
    assert.deepEqual(archives().sort(), [future, real].sort(), "both archives stay");
    assert.ok(Deno.statSync(join(snaps, `${real}.sha256`)).isFile, "with its sidecar");
    const warnings = r.stderr.split("\n").filter((l) => l.includes("dated in the future"));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(
      warnings[0],
      new RegExp(
        `^vigocli: warning: ${snaps}/${future.replaceAll(".", "\\.")} is dated in the future .*` +
          "the clock was ahead when it was made, or is behind now; .*remove it by hand$",
      ),
    );
    assert.match(r.stdout, /deleted 0 of 2 archive\(s\)/);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

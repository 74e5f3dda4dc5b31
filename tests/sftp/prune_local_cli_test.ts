/**
 * `backup prune` on paths.snapshots (no --remote): archives older than the retention go with their
 * sidecars, the newest always stays, --dry-run deletes nothing, --keep N keeps the N newest; on a remote,
 * files that are not archives are left alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { runCli } from "../helpers/cli.ts";

Deno.test("backup prune (local): retention by age keeps the newest, --keep N, --dry-run", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigo-prune-" });
  try {
    const yaml = join(root, "server.yaml");
    await Deno.writeTextFile(
      yaml,
      "database:\n  driver: sqlite\nbackup:\n  url: file:///nowhere\n  retention: 240h\n",
    );
    const snaps = join(root, "snapshots");
    await Deno.mkdir(snaps);
    const day = 86_400_000;
    const names = [1, 5, 20, 40].map((d) =>
      `vigo-backup-${new Date(Date.now() - d * day).toISOString().replace(/\.\d{3}Z$/, "Z")}.tar.gz`
    );
    for (const n of names) {
      await Deno.writeFile(join(snaps, n), gzipSync(new Uint8Array(10)));
      await Deno.writeTextFile(join(snaps, `${n}.sha256`), `${"0".repeat(64)}  ${n}\n`);
    }
    const flags = ["--server-yaml", yaml, "--server-root", root];
    const dry = await runCli(["backup", "prune", "--dry-run", "--json", ...flags]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout).archives.map((
      a: { name: string; action: string },
    ) => [a.name, a.action]);
    assert.deepEqual(plan, [[names[0], "keep"], [names[1], "keep"], [names[2], "delete"], [
      names[3],
      "delete",
    ]]);
    assert.equal([...Deno.readDirSync(snaps)].length, 8, "--dry-run deleted nothing");

    const real = await runCli(["backup", "prune", ...flags]);
    assert.equal(real.code, 0, real.stderr);
    const left = [...Deno.readDirSync(snaps)].map((e) => e.name).sort();
    assert.deepEqual(left, [names[0], `${names[0]}.sha256`, names[1], `${names[1]}.sha256`].sort());

    const keep1 = await runCli(["backup", "prune", "--keep", "1", ...flags]);
    assert.equal(keep1.code, 0, keep1.stderr);
    assert.deepEqual([...Deno.readDirSync(snaps)].map((e) => e.name).sort(), [
      names[0],
      `${names[0]}.sha256`,
    ]);

    const bad = await runCli(["backup", "prune", "--keep", "0", ...flags]);
    assert.equal(bad.code, 2, bad.stderr);
    // Past the safe integers: refused, where it ran as "one of the 1e+23 newest".
    const huge = await runCli(["backup", "prune", "--keep", "99999999999999999999999", ...flags]);
    assert.equal(huge.code, 2, huge.stderr);
    assert.match(huge.stderr, /--keep 99999999999999999999999: expected a whole number from 1 to \d+/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("backup prune --remote: a foreign file named like an archive is neither kept nor deleted", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigo-prune-remote-" });
  try {
    const yaml = join(root, "server.yaml");
    await Deno.writeTextFile(yaml, "database:\n  driver: sqlite\n");
    const archives = join(root, "remote", "archives");
    await Deno.mkdir(archives, { recursive: true });
    const day = 86_400_000;
    const names = [1, 5].map((d) =>
      `vigo-backup-${new Date(Date.now() - d * day).toISOString().replace(/\.\d{3}Z$/, "Z")}.tar.gz`
    );
    for (const n of names) {
      await Deno.writeFile(join(archives, n), gzipSync(new Uint8Array(10)));
      await Deno.writeTextFile(join(archives, `${n}.sha256`), `${"0".repeat(64)}  ${n}\n`);
    }
    // Newer than both archives: counted as one, it was "the newest, kept", and a real archive went.
    await Deno.writeTextFile(join(archives, "README.tar.gz"), "my notes\n");
    const flags = ["--url", `file://${root}/remote`, "--server-yaml", yaml, "--server-root", root];
    const listed = await runCli(["backup", "list", "--remote", "--json", ...flags]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).map((a: { name: string }) => a.name), names);
    const pruned = await runCli(["backup", "prune", "--remote", "--keep", "1", ...flags]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(
      [...Deno.readDirSync(archives)].map((e) => e.name).sort(),
      [
        "README.tar.gz",
        names[0],
        `${names[0]}.sha256`,
      ].sort(),
    );
    // A retention of zero or less would delete all but the newest: refused like server.yaml's.
    for (const age of ["0h", "-5h"]) {
      const r = await runCli(["backup", "prune", "--remote", `--older-than=${age}`, "--dry-run", ...flags]);
      assert.equal(r.code, 2, `${age}: ${r.stderr}`);
      assert.match(r.stderr, /--older-than/);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

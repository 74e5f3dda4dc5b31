/**
 * Restore as a user other than root of an archive whose directories were read-only on the source
 * (`secrets/` at 0500, as a careful operator keeps it; `stacks/vars/` too): moving a directory to another
 * parent rewrites its ".." entry, which needs write permission on it, so the commit's rename of a staged
 * secrets/ at 0500 failed (exit 11), as did moving such a secrets/ aside, and the staging directory,
 * holding read-only directories, could not be removed either: one more was left by every attempt. Now
 * such a directory is made writable for its move and given its mode back, and a failed restore removes
 * its staging directory however its directories are set, as the sweep of a killed one's does. Run as nobody (root writes anything); skipped,
 * saying so, where the CLI cannot run as nobody.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliAsNobody, runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("restore as nobody: read-only directories restored with their modes; a failed restore leaves no staging", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  const shared = await Deno.makeTempDir({ prefix: "vigo-read-only-dirs-" });
  try {
    await Deno.chmod(join(fx.root, "stacks/vars"), 0o500);
    await Deno.chmod(join(fx.root, "secrets"), 0o500);
    const archive = join(shared, "x.tar.gz");
    const made = await runCli(["backup", "create", ...fx.flags, archive]);
    assert.equal(made.code, 0, made.stderr);
    for (const f of [archive, `${archive}.sha256`]) await Deno.chmod(f, 0o644);
    const asNobody = await cliAsNobody(shared);
    if (!asNobody) return;
    const target = join(shared, "t");
    await Deno.mkdir(target);
    await Deno.chown(target, 65534, 65534);
    const first = await asNobody("backup", "restore", archive, "--target", target);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await Deno.stat(join(target, "secrets"))).mode! & 0o7777, 0o500);
    assert.equal((await Deno.stat(join(target, "stacks/vars"))).mode! & 0o7777, 0o500);
    assert.equal(
      await Deno.readTextFile(join(target, "secrets/.master.key")),
      "0123456789abcdef0123456789abcdef\n",
    );
    // Again over it: the read-only secrets/ there is moved aside as it is, the new one put in its place.
    const again = await asNobody("backup", "restore", archive, "--target", target);
    assert.equal(again.code, 0, again.stderr);
    const aside = [...Deno.readDirSync(target)].find((e) => e.name.startsWith(".pre-restore-"))!.name;
    for (const dir of [join(target, "secrets"), join(target, aside, "secrets")]) {
      assert.equal((await Deno.stat(dir)).mode! & 0o7777, 0o500, dir);
    }

    // A killed restore's staging tree, secrets/ at 0500 in it: the next restore's sweep removes it too.
    const dead = join(target, ".restore-staging-999999-abcDEF");
    await Deno.mkdir(join(dead, "secrets"), { recursive: true });
    await Deno.writeTextFile(join(dead, "secrets/.master.key"), "x\n");
    for (const d of [dead, join(dead, "secrets")]) await Deno.chown(d, 65534, 65534);
    await Deno.chmod(join(dead, "secrets"), 0o500);

    // Fails after staging (the database is in use): the staged tree, stacks/vars/ at 0500 in it, goes.
    const sqlite = new Deno.Command("sqlite3", {
      args: [join(target, "db/vigo.db")],
      stdin: "piped",
      stdout: "piped",
    })
      .spawn();
    const w = sqlite.stdin.getWriter();
    await w.write(new TextEncoder().encode("BEGIN IMMEDIATE;\nSELECT 'held';\n"));
    const reader = sqlite.stdout.getReader();
    await reader.read();
    try {
      const busy = await asNobody("backup", "restore", archive, "--target", target);
      assert.equal(busy.code, 5, busy.stderr);
    } finally {
      await w.close();
      reader.releaseLock();
      await sqlite.stdout.cancel();
      await sqlite.status;
    }
    const left = [...Deno.readDirSync(target)].map((e) => e.name).filter((n) =>
      n.startsWith(".restore-staging-")
    );
    assert.deepEqual(left, [], "staging directory left behind");
  } finally {
    await new Deno.Command("chmod", { args: ["-R", "u+rwx", shared, fx.root] }).output();
    await Deno.remove(shared, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});

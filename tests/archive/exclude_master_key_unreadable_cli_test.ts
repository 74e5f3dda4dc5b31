/**
 * `backup create --exclude-master-key` leaves secrets/.master.key out, so it must not need to read it: a
 * backup user who can read everything but a root-owned 0600 key got "…/.master.key: permission denied",
 * exit 11, and no archive. As root the CLI runs as nobody, so the permission check is real.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliAsNobody, runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("create --exclude-master-key: an unreadable master key is not opened; the archive lacks it", async () => {
  const fx = await makeServerRoot({ rows: 50 });
  const key = join(fx.root, "secrets/.master.key");
  const out = join(fx.root, "snapshots", "no-key.tar.gz");
  const home = await Deno.makeTempDir({ prefix: "vigo-nobody-" });
  try {
    let create = (...args: string[]) => runCli(args);
    if (Deno.uid() === 0) {
      // Everything readable and writable by nobody but the key, which stays root's and 0600.
      await new Deno.Command("chmod", { args: ["-R", "a+rwX", fx.root] }).output();
      await Deno.chmod(key, 0o600);
      const asNobody = await cliAsNobody(home);
      if (!asNobody) return;
      create = asNobody;
    } else {
      await Deno.chmod(key, 0o000);
    }
    const r = await create("backup", "create", "--exclude-master-key", ...fx.flags, out);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /master\.key/);
    const list = await new Deno.Command("tar", { args: ["-tzf", out], stdout: "piped" }).output();
    const names = new TextDecoder().decode(list.stdout).split("\n");
    assert.ok(!names.includes("secrets/.master.key"), names.join(" "));
    assert.ok(names.includes("secrets/vigo/backup/aws_access_key"), names.join(" "));
    const show = await new Deno.Command("tar", { args: ["-xzOf", out, "manifest.json"], stdout: "piped" })
      .output();
    const manifest = JSON.parse(new TextDecoder().decode(show.stdout));
    assert.deepEqual(manifest.excluded, ["secrets/.master.key"]);
    assert.ok(!manifest.entries.some((e: { path: string }) => e.path === "secrets/.master.key"));
  } finally {
    await Deno.chmod(fx.root, 0o700);
    await Deno.remove(fx.root, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

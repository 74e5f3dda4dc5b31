/**
 * Encrypted archives through the CLI: create --encrypt writes the envelope (the sidecar covers the
 * encrypted bytes on disk), list detects it by header, inspect/verify/restore decrypt with
 * --password-file, and a wrong password fails with the crypto exit code before anything is restored.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { makeServerRoot, treeHash } from "./fixture.ts";
import { ARCHIVE_PASSWORD } from "../helpers/test_secrets.ts";

const CRYPTO = 6;

Deno.test("encrypted archive: create, list, inspect, verify, restore; wrong password refused", async () => {
  const fx = await makeServerRoot({ rows: 100 });
  const pw = join(fx.root, "pw");
  await Deno.writeTextFile(pw, `${ARCHIVE_PASSWORD}\n`, { mode: 0o600 });
  const bad = join(fx.root, "bad-pw");
  await Deno.writeTextFile(bad, "wrong\n", { mode: 0o600 });
  const out = join(fx.root, "snapshots", "enc.tar.gz");
  // A password without --encrypt is refused (exit 2) before anything is written: it used to mean a
  // plain archive, master key included, with exit 0.
  for (const flag of [["--password-file", pw], ["--password-command", `cat ${pw}`]]) {
    const plain = await runCli(["backup", "create", ...fx.flags, out, ...flag]);
    assert.equal(plain.code, 2, plain.stderr);
    assert.match(plain.stderr, /^vigocli: --password-(file|command) is given without --encrypt/);
    assert.equal(await Deno.lstat(out).then(() => true, () => false), false);
  }
  const c = await runCli(["backup", "create", ...fx.flags, out, "--encrypt", "--password-file", pw]);
  assert.equal(c.code, 0, c.stderr);

  const head = (await Deno.readFile(out)).subarray(0, 2);
  assert.notDeepEqual([...head], [0x1f, 0x8b], "not plain gzip on disk");
  const sum = await new Deno.Command("sha256sum", {
    args: ["-c", `${out}.sha256`],
    cwd: join(fx.root, "snapshots"),
  })
    .output();
  assert.equal(sum.code, 0, "sidecar covers the encrypted bytes");

  const list = await runCli(["backup", "list", ...fx.flags, "--json"]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(JSON.parse(list.stdout)[0].encrypted, true);

  const i = await runCli(["backup", "inspect", out, "--password-file", pw]);
  assert.equal(i.code, 0, i.stderr);
  assert.equal(JSON.parse(i.stdout).format, "vigo-backup");
  const v = await runCli(["backup", "verify", out, "--password-file", pw]);
  assert.equal(v.code, 0, v.stderr);

  const target = await Deno.makeTempDir({ prefix: "vigo-enc-" });
  const before = await treeHash(target);
  const wrong = await runCli([
    "backup",
    "restore",
    out,
    "--target",
    target,
    "--decrypt",
    "--password-file",
    bad,
  ]);
  assert.equal(wrong.code, CRYPTO, wrong.stderr);
  assert.match(wrong.stderr, /password/);
  assert.deepEqual(await treeHash(target), before);

  const r = await runCli(["backup", "restore", out, "--target", target, "--decrypt", "--password-file", pw]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sqliteQuery(join(target, "db/vigo.db"), "SELECT count(*) FROM t"), "100");
  assert.equal(
    await Deno.readTextFile(join(target, "secrets/.master.key")),
    "0123456789abcdef0123456789abcdef\n",
  );
  await Deno.remove(fx.root, { recursive: true });
  await Deno.remove(target, { recursive: true });
});

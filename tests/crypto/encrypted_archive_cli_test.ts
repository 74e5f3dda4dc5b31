/**
 * Encrypted archives through the CLI, as an operator drives them: `VIGO_BACKUP_PASSWORD` and
 * `--password-file`, create → list → inspect (which needs only the start) → verify → restore, with
 * and without `--decrypt`; wrong password, tampering, truncation and a missing password source each
 * fail with exit code 6, the check named, and nothing written to the target.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { makeServerRoot, type ServerFixture, treeHash } from "../archive/fixture.ts";
import { ARCHIVE_PASSWORD } from "../helpers/test_secrets.ts";

const CRYPTO = 6;
const PASSWORD = ARCHIVE_PASSWORD;
const env = (password = PASSWORD) => ({ VIGO_BACKUP_PASSWORD: password });

let fx: ServerFixture;
let archive: string;
let plainArchive: string;

/** One server root and one encrypted archive (~15 chunks) shared by the tests below. */
async function setup(): Promise<void> {
  if (fx) return;
  fx = await makeServerRoot({ rows: 3000 });
  archive = join(fx.root, "snapshots", "enc.tar.gz");
  const c = await runCli(["backup", "create", ...fx.flags, archive, "--encrypt"], { env: env() });
  assert.equal(c.code, 0, c.stderr);
  plainArchive = join(fx.root, "snapshots", "plain.tar.gz");
  const p = await runCli(["backup", "create", ...fx.flags, plainArchive]);
  assert.equal(p.code, 0, p.stderr);
}

/** A copy of the encrypted archive, without its sidecar, after `damage` — so the crypto checks decide. */
async function damagedCopy(name: string, damage: (bytes: Uint8Array) => Uint8Array): Promise<string> {
  const path = join(fx.root, name);
  await Deno.writeFile(path, damage(await Deno.readFile(archive)));
  return path;
}

/** Restore must fail with exit 6 and `pattern`, leaving a populated target exactly as it was. */
async function restoreRefused(path: string, pattern: RegExp, password = PASSWORD) {
  const target = await Deno.makeTempDir({ prefix: "vigo-crypto-target-" });
  await Deno.writeTextFile(join(target, "server.yaml"), "database:\n  driver: sqlite\n");
  const before = await treeHash(target);
  const r = await runCli(["backup", "restore", path, "--target", target, "--decrypt"], {
    env: env(password),
  });
  assert.equal(r.code, CRYPTO, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  assert.ok(!r.stderr.includes(password), "the password leaked into the error");
  assert.deepEqual(await treeHash(target), before, "target changed");
  await Deno.remove(target, { recursive: true });
}

Deno.test("create --encrypt writes the envelope; the sidecar covers the encrypted bytes; list marks it", async () => {
  await setup();
  const head = (await Deno.readFile(archive)).subarray(0, 8);
  assert.deepEqual([...head], [0x89, 0x56, 0x49, 0x47, 0x4f, 0x45, 0x4e, 0x43]);
  const sum = await new Deno.Command("sha256sum", {
    args: ["-c", `${archive}.sha256`],
    cwd: join(fx.root, "snapshots"),
  })
    .output();
  assert.equal(sum.code, 0, "sha256sum -c on the sidecar");
  const list = await runCli(["backup", "list", ...fx.flags, "--json"]);
  assert.equal(list.code, 0, list.stderr);
  const rows: { name: string; encrypted: boolean }[] = JSON.parse(list.stdout);
  assert.deepEqual(rows.map((r) => [r.name, r.encrypted]).sort(), [["enc.tar.gz", true], [
    "plain.tar.gz",
    false,
  ]]);
});

Deno.test("inspect decrypts only the start: it works on the first 64 KiB of the archive", async () => {
  await setup();
  const size = (await Deno.stat(archive)).size;
  assert.ok(size > 8 * 65536, `fixture archive too small (${size} bytes) to show it`);
  const head = await damagedCopy("head-only.tar.gz", (b) => b.subarray(0, 84 + 65536 + 16 + 1000));
  for (const path of [archive, head]) {
    const r = await runCli(["backup", "inspect", path], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).format, "vigo-backup");
  }
});

Deno.test("verify and restore --decrypt with VIGO_BACKUP_PASSWORD; --decrypt is optional", async () => {
  await setup();
  const v = await runCli(["backup", "verify", archive, "--json"], { env: env() });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).encrypted, true);
  for (const flags of [["--decrypt"], []]) {
    const target = await Deno.makeTempDir({ prefix: "vigo-crypto-restore-" });
    const r = await runCli(["backup", "restore", archive, "--target", target, ...flags], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sqliteQuery(join(target, "db/vigo.db"), "SELECT count(*) FROM t"), "3000");
    assert.deepEqual(
      await treeHash(join(target, "stacks")),
      await treeHash(join(fx.root, "stacks")),
      "stacks/ restored byte for byte",
    );
    await Deno.remove(target, { recursive: true });
  }
});

Deno.test("--password-file is used for create and restore, and beats the environment", async () => {
  await setup();
  const pwFile = join(fx.root, "pw");
  await Deno.writeTextFile(pwFile, "from a file\n", { mode: 0o600 });
  const out = join(fx.root, "from-file.tar.gz");
  const c = await runCli(["backup", "create", ...fx.flags, out, "--encrypt", "--password-file", pwFile], {
    env: env("ignored"),
  });
  assert.equal(c.code, 0, c.stderr);
  const i = await runCli(["backup", "inspect", out], { env: env("from a file") });
  assert.equal(i.code, 0, i.stderr);
  await restoreRefused(
    out,
    /^vigocli: .*from-file\.tar\.gz: wrong password \(header authentication failed\)$/m,
  );
});

Deno.test("wrong password: exit 6 at the header, target untouched", async () => {
  await setup();
  await restoreRefused(
    archive,
    /wrong password \(header authentication failed\)/,
    "Correct horse battery staple",
  );
  const v = await runCli(["backup", "verify", archive], { env: env("nope") });
  assert.equal(v.code, CRYPTO, v.stderr);
  const i = await runCli(["backup", "inspect", archive], { env: env("nope") });
  assert.equal(i.code, CRYPTO, i.stderr);
});

Deno.test("a flipped bit, truncation and appended data (no sidecar to catch them first) are refused", async () => {
  await setup();
  const flipMiddle = await damagedCopy("flip.tar.gz", (b) => {
    const c = b.slice();
    c[84 + 5 * (65536 + 16) + 300] ^= 0x10; // inside chunk 5
    return c;
  });
  await restoreRefused(flipMiddle, /chunk 5 failed authentication/);
  const atBoundary = await damagedCopy("cut.tar.gz", (b) => b.subarray(0, 84 + 6 * (65536 + 16)));
  await restoreRefused(atBoundary, /truncated: archive ends after chunk 5, final chunk missing/);
  const midChunk = await damagedCopy("cut-mid.tar.gz", (b) => b.subarray(0, b.length - 100));
  await restoreRefused(
    midChunk,
    /failed authentication \(archive truncated, corrupted, or with data appended\)/,
  );
  const appended = await damagedCopy("appended.tar.gz", (b) => {
    const c = new Uint8Array(b.length + 1000);
    c.set(b);
    return c;
  });
  await restoreRefused(appended, /(failed authentication|trailing data after the final chunk)/);
  const header = await damagedCopy("header.tar.gz", (b) => {
    const c = b.slice();
    c[30] ^= 1; // the salt
    return c;
  });
  await restoreRefused(header, /encrypted archive header damaged \(checksum mismatch\)/);
});

Deno.test("no password source and no terminal: create --encrypt fails at once and writes nothing", async () => {
  await setup();
  const out = join(fx.root, "snapshots", "never.tar.gz");
  // setsid: no controlling terminal, so nothing can be prompted for.
  const r = await runCli(["backup", "create", ...fx.flags, out, "--encrypt"], {
    via: ["setsid", "-w"],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp" },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, CRYPTO, r.stderr);
  assert.equal(
    r.stderr.trim(),
    // Named, as verify and restore name the archive that wanted a password.
    `vigocli: ${out}: no password: use --password-file, --password-command, VIGO_BACKUP_PASSWORD_FILE or ` +
      "VIGO_BACKUP_PASSWORD (no terminal to prompt on)",
  );
  const left = [...Deno.readDirSync(join(fx.root, "snapshots"))].map((e) => e.name).filter((n) =>
    n.includes("never")
  );
  assert.deepEqual(left, [], "no archive, temp file or sidecar left behind");
});

Deno.test("cleanup", async () => {
  if (fx) await Deno.remove(fx.root, { recursive: true });
});

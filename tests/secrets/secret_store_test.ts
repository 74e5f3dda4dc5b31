import assert from "node:assert/strict";
import { join } from "node:path";
import { CryptoError, IoError, NotFoundError, UsageError } from "../../lib/errors.ts";
import { SecretStore } from "../../lib/secrets/secret_store.ts";
import { secretNameProblem, secretPath } from "../../lib/secrets/secret_name.ts";
import { REPO_ROOT } from "../helpers/cli.ts";

const enc = new TextEncoder();
const VECTOR_ROOT = join(REPO_ROOT, "tests/vectors/secrets/root");

Deno.test("secret names: segments map to subdirectories; escapes and dot-files are refused", () => {
  assert.equal(
    secretPath("/srv/vigo/secrets", "vigo/backup/aws_access_key"),
    "/srv/vigo/secrets/vigo/backup/aws_access_key",
  );
  for (
    const ok of [
      "a",
      "A_b-c.d",
      "vigo/backup/aws_access_key",
      "_x/1",
      "x".repeat(226),
      `a/${"x".repeat(226)}`,
    ]
  ) {
    assert.equal(secretNameProblem(ok), undefined, ok);
  }
  for (
    const bad of [
      "",
      "/etc/passwd",
      "../x",
      "a/../b",
      "a/./b",
      "a//b",
      "a/",
      ".master.key",
      "a/.hidden",
      "sp ace",
      "a\\b",
      "x".repeat(256),
      "x".repeat(227),
      `${"x".repeat(227)}/a`,
    ]
  ) {
    assert.ok(secretNameProblem(bad), `accepted ${JSON.stringify(bad)}`);
  }
  assert.throws(() => secretPath("/s", "../../etc/shadow"), UsageError);
});

Deno.test("store: reads the vector root; list skips the master key", async () => {
  const store = new SecretStore(VECTOR_ROOT);
  assert.equal(await store.get("vigo/backup/aws_access_key"), "AKIAIOSFODNN7EXAMPLE");
  assert.equal(await store.get("unicode.txt"), "pässwörd ✓ 🔑\n");
  assert.equal(await store.get("empty"), "");
  const names = await store.list();
  assert.ok(names.includes("vigo/backup/aws_secret_key"));
  assert.ok(!names.some((n) => n.includes(".master.key")));
  assert.deepEqual(names, [...names].sort());
  await assert.rejects(() => store.get("bad/swapped"), CryptoError);
});

Deno.test("store: set creates a 0600 master key and 0600 secret, get round-trips", async () => {
  const root = await Deno.makeTempDir();
  const store = new SecretStore(root);
  const first = await store.set("vigo/backup/aws_access_key", enc.encode("AKIA1"));
  assert.equal(first.createdMasterKey, true);
  assert.equal(first.path, join(root, "secrets/vigo/backup/aws_access_key"));
  assert.equal((await Deno.stat(join(root, "secrets/.master.key"))).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(first.path)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(join(root, "secrets"))).mode! & 0o777, 0o700);
  const second = await store.set("vigo/backup/aws_access_key", enc.encode("AKIA2"));
  assert.equal(second.createdMasterKey, false);
  assert.equal(await new SecretStore(root).get("vigo/backup/aws_access_key"), "AKIA2");
  assert.deepEqual(await store.list(), ["vigo/backup/aws_access_key"]);
  const leftovers = [...Deno.readDirSync(join(root, "secrets/vigo/backup"))].map((e) => e.name);
  assert.deepEqual(leftovers, ["aws_access_key"], "temporary files left behind");
  await Deno.remove(root, { recursive: true });
});

Deno.test("store: concurrent first writers agree on one master key", async () => {
  const root = await Deno.makeTempDir();
  const names = Array.from({ length: 8 }, (_, i) => `k${i}`);
  await Promise.all(names.map((n) => new SecretStore(root).set(n, enc.encode(n))));
  const store = new SecretStore(root);
  for (const n of names) assert.equal(await store.get(n), n);
  await Deno.remove(root, { recursive: true });
});

Deno.test("store: missing secret, missing master key, unreadable file, readable master key", async () => {
  const root = await Deno.makeTempDir();
  const store = new SecretStore(root);
  await Deno.mkdir(join(root, "secrets"));
  await Deno.writeTextFile(join(root, "secrets/a"), "x");
  await assert.rejects(
    () => store.get("a"),
    (e: unknown) => e instanceof NotFoundError && /\.master\.key is missing/.test(e.message),
  );
  await store.set("a", enc.encode("x"), { newMasterKey: true }); // "a" was a placeholder, sealed with no key
  await assert.rejects(() => new SecretStore(root).get("nope"), (e: unknown) => {
    assert.ok(e instanceof NotFoundError);
    assert.equal(e.message, `${join(root, "secrets/nope")}: no such secret "nope"`);
    return true;
  });
  if (Deno.uid() !== 0) {
    await Deno.chmod(join(root, "secrets/a"), 0o000);
    await assert.rejects(() => new SecretStore(root).get("a"), (e: unknown) => {
      assert.ok(e instanceof IoError);
      assert.equal(e.message, `${join(root, "secrets/a")}: permission denied`);
      return true;
    });
    await Deno.chmod(join(root, "secrets/a"), 0o600);
  }
  await Deno.chmod(join(root, "secrets/.master.key"), 0o644);
  const s2 = new SecretStore(root);
  assert.equal(await s2.get("a"), "x");
  assert.match(s2.warnings[0], /\.master\.key: readable by group or others \(mode 0644\); run chmod 600/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("store: a master key replaced by another one is reported as such", async () => {
  const root = await Deno.makeTempDir();
  await new SecretStore(root).set("a", enc.encode("x"));
  await Deno.remove(join(root, "secrets/.master.key"));
  await assert.rejects(() => new SecretStore(root).set("b", enc.encode("y")), NotFoundError);
  await new SecretStore(root).set("b", enc.encode("y"), { newMasterKey: true });
  await assert.rejects(() => new SecretStore(root).get("a"), (e: unknown) => {
    assert.ok(e instanceof CryptoError);
    assert.match(e.message, /secrets\/a: encrypted under a different master key/);
    return true;
  });
  await Deno.remove(root, { recursive: true });
});

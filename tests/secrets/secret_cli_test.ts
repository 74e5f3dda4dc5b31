/** `vigocli secret set|get|list` driven as a process (runs against compiled binaries too). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AS_NOBODY, cliCommand, REPO_ROOT, runCli } from "../helpers/cli.ts";
import { recordRun } from "../helpers/transcript.ts";

const VECTOR_ROOT = join(REPO_ROOT, "tests/vectors/secrets/root");

async function tempRoot(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "vigo-secret-cli-" });
}

Deno.test("secret set (stdin) / get / list round trip, files and master key mode 0600", async () => {
  const root = await tempRoot();
  const set = await runCli(["secret", "set", "vigo/backup/aws_access_key", "--server-root", root], {
    stdin: "AKIAIOSFODNN7EXAMPLE\n",
  });
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stderr, /created master key .*\.master\.key \(mode 0600\)/);
  assert.ok(!set.stdout.includes("AKIA") && !set.stderr.includes("AKIA"), "set echoed the value");
  const file = join(root, "secrets/vigo/backup/aws_access_key");
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(join(root, "secrets/.master.key"))).mode! & 0o777, 0o600);
  assert.ok(!new TextDecoder().decode(await Deno.readFile(file)).includes("AKIA"), "stored in clear");

  const get = await runCli(["secret", "get", "vigo/backup/aws_access_key", "--server-root", root]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, "AKIAIOSFODNN7EXAMPLE");

  const again = await runCli(["secret", "set", "other", "--server-root", root], { stdin: "x" });
  assert.equal(again.code, 0, again.stderr);
  assert.ok(!again.stderr.includes("created master key"), "second set created another master key");

  const list = await runCli(["secret", "list", "--server-root", root]);
  assert.equal(list.stdout, "other\nvigo/backup/aws_access_key\n");
  const json = await runCli(["secret", "list", "--json", "--server-root", root]);
  assert.deepEqual(JSON.parse(json.stdout), ["other", "vigo/backup/aws_access_key"]);

  // A mistyped server root is named, exit 9: it listed nothing (exit 0), and set made it with a new key.
  const typo = join(root, "no-such-root");
  for (
    const [args, stdin] of [
      [["list"], undefined],
      [["list", "--json"], undefined],
      [["get", "other"], undefined],
      [["set", "other"], "x"],
    ] as const
  ) {
    const r = await runCli(["secret", ...args, "--server-root", typo], { stdin });
    assert.equal(r.code, 9, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, `vigocli: ${typo}: no such directory (the server root)\n`, args.join(" "));
  }
  assert.equal(await Deno.stat(typo).then(() => true, () => false), false, "set made the mistyped root");
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret set --value-file stores bytes exactly (trailing newline and binary kept)", async () => {
  const root = await tempRoot();
  const value = new Uint8Array([0, 1, 2, 255, 0x0d, 0x0a]);
  await Deno.writeFile(join(root, "value.bin"), value);
  const set = await runCli([
    "secret",
    "set",
    "bin",
    "--value-file",
    join(root, "value.bin"),
    "--server-root",
    root,
  ]);
  assert.equal(set.code, 0, set.stderr);
  const [cmd, ...pre] = cliCommand();
  const out = await new Deno.Command(cmd, {
    args: [...pre, "secret", "get", "bin", "--server-root", root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  recordRun({
    argv: ["secret", "get", "bin"],
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    code: out.code,
  });
  assert.equal(out.code, 0);
  assert.deepEqual(out.stdout, value);
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret get reads files written by an independent implementation (test vectors)", async () => {
  const get = await runCli(["secret", "get", "vigo/backup/aws_secret_key", "--server-root", VECTOR_ROOT]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  const list = await runCli(["secret", "list", "--server-root", VECTOR_ROOT]);
  assert.ok(list.stdout.split("\n").includes("vigo/backup/aws_access_key"));
  assert.ok(!list.stdout.includes(".master.key"));
});

Deno.test("secret get: tampered, swapped and foreign-key files fail with exit 6 naming the file", async () => {
  for (const name of ["bad/tampered_tag", "bad/swapped", "bad/wrong_key"]) {
    const r = await runCli(["secret", "get", name, "--server-root", VECTOR_ROOT]);
    assert.equal(r.code, 6, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^vigocli: ${VECTOR_ROOT}/secrets/${name}: .+\n$`));
    assert.ok(!r.stderr.includes("AKIA"), "leaked a plaintext");
  }
});

Deno.test("secret get: a master key line the vectors refuse is exit 6 naming the key file", async () => {
  const vectors = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "tests/vectors/secrets/vectors.json")));
  const refused = (vectors.master_key_lines as { line: string; expect: string }[])
    .filter((m) => m.expect !== "ok");
  assert.ok(refused.length > 0);
  for (const { line } of refused) {
    const root = await tempRoot();
    await Deno.mkdir(join(root, "secrets"), { mode: 0o700 });
    const keyFile = join(root, "secrets/.master.key");
    await Deno.writeTextFile(keyFile, `${line}\n`, { mode: 0o600 });
    await Deno.copyFile(join(VECTOR_ROOT, "secrets/empty"), join(root, "secrets/empty"));
    const r = await runCli(["secret", "get", "empty", "--server-root", root]);
    assert.equal(r.code, 6, `${line}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^vigocli: ${keyFile}: master key is not canonical base64 .*\n$`));
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("secret get without the master key: exit 9, one line naming it, put the old one back", async () => {
  // A restored host whose archive left the key out: its secrets open only with the old host's key, and
  // "secret set" would make a new one (it used to be the only advice).
  const root = await tempRoot();
  await Deno.mkdir(join(root, "secrets/vigo/backup"), { recursive: true, mode: 0o700 });
  await Deno.copyFile(
    join(VECTOR_ROOT, "secrets/vigo/backup/aws_secret_key"),
    join(root, "secrets/vigo/backup/aws_secret_key"),
  );
  const keyFile = join(root, "secrets/.master.key");
  const r = await runCli(["secret", "get", "vigo/backup/aws_secret_key", "--server-root", root]);
  assert.equal(r.code, 9, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    `vigocli: ${keyFile} is missing: on a restored host put the old host's master key back (backup restore ` +
      `--master-key FILE, or copy it to ${keyFile}, mode 0600); only a new server, with no secrets yet, ` +
      "creates one with: vigocli secret set NAME\n",
  );
  assert.ok(!(await Deno.stat(keyFile).then(() => true, () => false)), "get created a master key");
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret set without the master key beside restored secrets: exit 9, one line, no new key unless asked", async () => {
  // A restored host whose archive left the key out: a key made here could never open what was restored.
  // secret set used to make one anyway, saying only "created master key".
  const root = await tempRoot();
  await Deno.mkdir(join(root, "secrets/vigo/backup"), { recursive: true, mode: 0o700 });
  const restored = join(root, "secrets/vigo/backup/aws_secret_key");
  await Deno.copyFile(join(VECTOR_ROOT, "secrets/vigo/backup/aws_secret_key"), restored);
  const keyFile = join(root, "secrets/.master.key");
  const advice =
    `put the old host's master key back (backup restore --master-key FILE, or copy it to ${keyFile}, ` +
    "mode 0600), or give --new-master-key to make a new one anyway (those stay unreadable)\n";
  const refused = await runCli(["secret", "set", "app/token", "--server-root", root], { stdin: "t0ken" });
  assert.equal(refused.code, 9, refused.stderr);
  assert.equal(refused.stdout, "");
  assert.equal(
    refused.stderr,
    `vigocli: ${keyFile} is missing but ${root}/secrets holds secret "vigo/backup/aws_secret_key" that a new ` +
      `master key could never open: ${advice}`,
  );
  await Deno.copyFile(
    join(VECTOR_ROOT, "secrets/vigo/backup/aws_access_key"),
    join(root, "secrets/vigo/backup/aws_access_key"),
  );
  const valueFile = join(root, "value");
  await Deno.writeTextFile(valueFile, "t0ken");
  const two = await runCli(["secret", "set", "app/token", "--value-file", valueFile, "--server-root", root]);
  assert.equal(two.code, 9, two.stderr);
  assert.equal(
    two.stderr,
    `vigocli: ${keyFile} is missing but ${root}/secrets holds 2 secrets ("vigo/backup/aws_access_key", …) ` +
      `that a new master key could never open: ${advice}`,
  );
  assert.ok(!(await Deno.stat(keyFile).then(() => true, () => false)), "set created a master key");
  const list = await runCli(["secret", "list", "--server-root", root]);
  assert.equal(list.stdout, "vigo/backup/aws_access_key\nvigo/backup/aws_secret_key\n", "set wrote a secret");

  // The old key put back: set seals with it, and what was restored still opens.
  await Deno.copyFile(join(VECTOR_ROOT, "secrets/.master.key"), keyFile);
  await Deno.chmod(keyFile, 0o600);
  const withOld = await runCli(["secret", "set", "app/token", "--server-root", root], { stdin: "t0ken" });
  assert.equal(withOld.code, 0, withOld.stderr);
  assert.doesNotMatch(withOld.stderr, /created master key/);
  const old = await runCli(["secret", "get", "vigo/backup/aws_secret_key", "--server-root", root]);
  assert.equal(old.code, 0, old.stderr);

  // The old key lost for good: --new-master-key makes a new one, and the restored secrets stay sealed.
  await Deno.remove(keyFile);
  const renewed = await runCli(
    ["secret", "set", "app/token", "--new-master-key", "--server-root", root],
    { stdin: "t0ken" },
  );
  assert.equal(renewed.code, 0, renewed.stderr);
  assert.match(renewed.stderr, /created master key .*\.master\.key \(mode 0600\)/);
  const token = await runCli(["secret", "get", "app/token", "--server-root", root]);
  assert.equal(token.stdout, "t0ken", token.stderr);
  const lost = await runCli(["secret", "get", "vigo/backup/aws_secret_key", "--server-root", root]);
  assert.equal(lost.code, 6, lost.stderr);
  assert.match(lost.stderr, /encrypted under a different master key/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret set on a new server: secrets/ with no secrets yet still gets a new master key", async () => {
  // Empty directories, a dead set's temporary file and a plain-text note are no secrets a new key would
  // orphan.
  const root = await tempRoot();
  await Deno.mkdir(join(root, "secrets/vigo/backup"), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(join(root, "secrets/vigo/backup/.aws_access_key.tmp-999999999-0123456789ab"), "x");
  await Deno.writeTextFile(join(root, "secrets/README"), "secrets are set with: vigocli secret set NAME\n");
  const set = await runCli(["secret", "set", "vigo/backup/aws_access_key", "--server-root", root], {
    stdin: "AKIAIOSFODNN7EXAMPLE",
  });
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stderr, /created master key .*\.master\.key \(mode 0600\)/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret set: the longest segment allowed is written; one byte more is exit 2 naming the limit", async () => {
  const root = await tempRoot();
  const longest = "x".repeat(226);
  const set = await runCli(["secret", "set", longest, "--server-root", root], { stdin: "v" });
  assert.equal(set.code, 0, set.stderr);
  const get = await runCli(["secret", "get", longest, "--server-root", root]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, "v");
  const tooLong = await runCli(["secret", "set", `a/${longest}y`, "--server-root", root], { stdin: "v" });
  assert.equal(tooLong.code, 2, tooLong.stderr);
  assert.match(
    tooLong.stderr,
    /^vigocli: .*invalid secret name .*: a segment is 227 bytes, longer than 226\n$/,
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret set --value-file: more than 1 MiB is exit 2 after reading 1 MiB + 1, from a file, device or FIFO", async () => {
  const root = await tempRoot();
  const exact = join(root, "exact");
  await Deno.writeFile(exact, new Uint8Array(1024 * 1024).fill(0x61));
  const ok = await runCli(["secret", "set", "exact", "--value-file", exact, "--server-root", root]);
  assert.equal(ok.code, 0, ok.stderr);
  const big = join(root, "big");
  await Deno.writeFile(big, new Uint8Array(1024 * 1024 + 1));
  const fifo = join(root, "fifo");
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  // An endless writer: the CLI must stop reading by itself and close the FIFO, which ends `cat`.
  const writer = new Deno.Command("sh", { args: ["-c", `exec cat /dev/zero > ${fifo}`], stderr: "null" })
    .spawn();
  let writerDone = false;
  const writerStatus = writer.status.then(() => writerDone = true);
  try {
    for (const file of [big, "/dev/zero", fifo]) {
      const r = await runCli(["secret", "set", "v", "--value-file", file, "--server-root", root]);
      assert.equal(r.code, 2, `${file}: ${r.stderr}`);
      assert.equal(r.stderr, `vigocli: ${file}: larger than 1048576 bytes\n`);
    }
  } finally {
    // A failure before the FIFO was opened leaves `cat` waiting for a reader.
    if (!writerDone) writer.kill();
    await writerStatus;
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret: usage errors and missing things", async () => {
  const root = await tempRoot();
  const cases: [string[], string | undefined, number, RegExp][] = [
    [["secret", "set", "../escape"], "v", 2, /invalid secret name "..\/escape"/],
    [["secret", "set", "/etc/passwd"], "v", 2, /absolute names are not allowed/],
    [["secret", "set", "empty"], "", 2, /refusing to store an empty value/],
    [["secret", "set", "x", "--value-file", join(root, "nope")], undefined, 9, /nope: no such file/],
    [["secret", "get", "missing"], undefined, 9, /secrets\/missing: no such secret "missing"/],
    [["secret", "get", "a/../../b"], undefined, 2, /invalid secret name/],
  ];
  for (const [args, stdin, code, message] of cases) {
    const r = await runCli([...args, "--server-root", root], { stdin });
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), [], "a failed command wrote something");
  const list = await runCli(["secret", "list", "--json", "--server-root", root]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout), []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret --help and subcommand help exit 0", async () => {
  for (const args of [["secret", "--help"], ["secret", "set", "--help"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: vigocli secret/);
  }
});

Deno.test("secret get: an unreadable secret file is exit 11 naming the file", async () => {
  const root = await tempRoot();
  const set = await runCli(["secret", "set", "a", "--server-root", root], { stdin: "value" });
  assert.equal(set.code, 0, set.stderr);
  const file = join(root, "secrets/a");
  await Deno.chmod(file, 0o000);
  let r;
  if (Deno.uid() !== 0) {
    r = await runCli(["secret", "get", "a", "--server-root", root]);
  } else {
    // root reads any file: run the CLI as nobody so the permission check is real.
    await Deno.chmod(root, 0o755);
    await Deno.chmod(join(root, "secrets"), 0o755);
    const home = await Deno.makeTempDir();
    await Deno.chmod(home, 0o777);
    const asNobody = (...args: string[]) =>
      runCli(args, { via: AS_NOBODY, env: { HOME: home, DENO_DIR: home } });
    const probe = await asNobody("--version");
    if (probe.code !== 0) {
      console.warn(
        `skipped: the CLI cannot run as nobody here (exit ${probe.code}; executable in a private directory?)`,
      );
      await Deno.remove(home, { recursive: true });
      await Deno.remove(root, { recursive: true });
      return;
    }
    r = await asNobody("secret", "get", "a", "--server-root", root);
    await Deno.remove(home, { recursive: true });
  }
  assert.equal(r.code, 11, r.stderr);
  assert.equal(r.stderr, `vigocli: ${file}: permission denied\n`);
  assert.equal(r.stdout, "");
  await Deno.remove(root, { recursive: true });
});

Deno.test("secret set: a value that is not valid UTF-8 still round-trips via stdin", async () => {
  const root = await tempRoot();
  const value = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
  const set = await runCli(["secret", "set", "raw", "--server-root", root], { stdin: value });
  assert.equal(set.code, 0, set.stderr);
  const [cmd, ...pre] = cliCommand();
  const out = await new Deno.Command(cmd, {
    args: [...pre, "secret", "get", "raw", "--server-root", root],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  recordRun({
    argv: ["secret", "get", "raw"],
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    code: out.code,
  });
  assert.deepEqual(out.stdout, value);
  await Deno.remove(root, { recursive: true });
});

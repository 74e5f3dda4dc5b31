/**
 * Bad input through the CLI: each case gives a one-line `vigocli: …` error naming the problem, the
 * documented exit code, and leaves the restore target exactly as it was (tree hash before/after).
 * Malicious archives are crafted here with Python's tarfile module, independent of our tar writer.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AS_NOBODY, runCli } from "../helpers/cli.ts";
import { exists, makeServerRoot, type ServerFixture, treeHash } from "./fixture.ts";

const BAD_INPUT = 4;
const CONFIG = 3;
const BUSY = 5;
const VERIFY_FAILED = 8;

let fx: ServerFixture;
let good: string;
let target: string;

async function setup(): Promise<void> {
  if (fx) return;
  fx = await makeServerRoot({ rows: 200 });
  good = join(fx.root, "snapshots", "good.tar.gz");
  const r = await runCli(["backup", "create", ...fx.flags, good]);
  assert.equal(r.code, 0, r.stderr);
  target = await Deno.makeTempDir({ prefix: "vigo-bad-target-" });
  const restore = await runCli(["backup", "restore", good, "--target", target]);
  assert.equal(restore.code, 0, restore.stderr);
  await Deno.writeTextFile(join(target, "stacks/roles/local-edit.yaml"), "kept: true\n");
}

/** A copy of the good archive (and, when asked, its sidecar) under a new name. */
async function copyOfGood(name: string, withSidecar: boolean): Promise<string> {
  const p = join(fx.root, "snapshots", name);
  await Deno.copyFile(good, p);
  if (withSidecar) await Deno.copyFile(`${good}.sha256`, `${p}.sha256`);
  return p;
}

/** Restores `archive` into the shared target and requires failure with `code` and `pattern`. */
async function expectRestoreFails(archive: string, code: number, pattern: RegExp, extra: string[] = []) {
  const before = await treeHash(target);
  const r = await runCli(["backup", "restore", archive, "--target", target, ...extra]);
  assert.equal(r.code, code, `exit code for ${archive}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one-line error: ${r.stderr}`);
  assert.match(r.stderr, /^vigocli: /);
  assert.deepEqual(await treeHash(target), before, "target unchanged");
}

/** Builds an archive with Python: the good archive's entries plus `extra` (Python code adding members). */
async function craft(name: string, extra: string): Promise<string> {
  const out = join(fx.root, "snapshots", name);
  const script = `
import io, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz", format=tarfile.PAX_FORMAT) as tout:
    for m in tin.getmembers():
        tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
    def add_file(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); tout.addfile(ti, io.BytesIO(data))
    def add_link(name, target):
        ti = tarfile.TarInfo(name); ti.type = tarfile.SYMTYPE; ti.linkname = target; tout.addfile(ti)
${extra.trim().split("\n").map((l) => "    " + l.trim()).join("\n")}
`;
  const r = await new Deno.Command("python3", { args: ["-c", script, good, out], stderr: "piped" }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return out;
}

Deno.test("truncated archive", async () => {
  await setup();
  const p = await copyOfGood("truncated.tar.gz", false);
  const size = (await Deno.stat(p)).size;
  await Deno.truncate(p, Math.floor(size * 0.6));
  await expectRestoreFails(p, BAD_INPUT, /truncated|unexpected end|not a valid gzip/i);
  const v = await runCli(["backup", "verify", p]);
  assert.notEqual(v.code, 0);
});

Deno.test("a flipped byte, with and without the sidecar", async () => {
  await setup();
  for (const withSidecar of [false, true]) {
    const p = await copyOfGood(`flipped-${withSidecar}.tar.gz`, withSidecar);
    const bytes = await Deno.readFile(p);
    bytes[Math.floor(bytes.length * 0.7)] ^= 0x01;
    await Deno.writeFile(p, bytes);
    await expectRestoreFails(p, BAD_INPUT, /gzip|SHA-256|checksum|does not match/i);
    const v = await runCli(["backup", "verify", p]);
    assert.ok(v.code === BAD_INPUT || v.code === VERIFY_FAILED, v.stderr);
  }
});

Deno.test("a missing sidecar fails verify; a mismatching sidecar fails verify and restore", async () => {
  await setup();
  const missing = await copyOfGood("nosidecar.tar.gz", false);
  const v = await runCli(["backup", "verify", missing]);
  assert.equal(v.code, VERIFY_FAILED, v.stderr);
  assert.match(v.stderr, /sidecar is missing/);

  const wrong = await copyOfGood("wrongsidecar.tar.gz", false);
  await Deno.writeTextFile(`${wrong}.sha256`, `${"0".repeat(64)}  wrongsidecar.tar.gz\n`);
  await expectRestoreFails(wrong, BAD_INPUT, /does not match .*\.sha256/);
  const v2 = await runCli(["backup", "verify", wrong]);
  assert.equal(v2.code, VERIFY_FAILED, v2.stderr);
});

Deno.test("entries that would escape the target: ../escape, an absolute path, a symlink out", async () => {
  await setup();
  const cases: [string, string, RegExp][] = [
    ["dotdot.tar.gz", `add_file("../escape", b"pwned")`, /escapes the target/],
    ["dotdot-inner.tar.gz", `add_file("stacks/../../escape", b"pwned")`, /escapes the target/],
    ["absolute.tar.gz", `add_file("/tmp/vigo-absolute-escape", b"pwned")`, /absolute/],
    ["symlink-abs.tar.gz", `add_link("stacks/evil", "/etc")`, /points outside the target/],
    ["symlink-rel.tar.gz", `add_link("stacks/evil", "../../..")`, /points outside the target/],
    ["unlisted.tar.gz", `add_file("stacks/unlisted.yaml", b"x")`, /not listed in the manifest/],
  ];
  for (const [name, code, pattern] of cases) {
    const p = await craft(name, code);
    await expectRestoreFails(p, BAD_INPUT, pattern);
  }
  assert.ok(!(await exists(join(target, "..", "escape"))));
  assert.ok(!(await exists("/tmp/vigo-absolute-escape")));
});

Deno.test("a non-archive file", async () => {
  await setup();
  const p = join(fx.root, "snapshots", "notes.txt");
  await Deno.writeTextFile(p, "just some text, not an archive\n");
  await expectRestoreFails(p, BAD_INPUT, /not a vigocli archive/);
  const i = await runCli(["backup", "inspect", p]);
  assert.equal(i.code, BAD_INPUT);
  const plainTar = join(fx.root, "snapshots", "plain.tar.gz");
  await new Deno.Command("tar", { args: ["czf", plainTar, "-C", fx.root, "stacks"] }).output();
  await expectRestoreFails(plainTar, BAD_INPUT, /does not start with manifest\.json/);
});

Deno.test("missing server.yaml and a postgres driver refuse with a config error", async () => {
  await setup();
  const out = join(fx.root, "snapshots", "never.tar.gz");
  const missing = await runCli([
    "backup",
    "create",
    "--server-root",
    fx.root,
    "--server-yaml",
    join(fx.root, "nope.yaml"),
    out,
  ]);
  assert.equal(missing.code, CONFIG, missing.stderr);
  assert.match(missing.stderr, /nope\.yaml/);
  const pg = join(fx.root, "pg.yaml");
  await Deno.writeTextFile(pg, "database:\n  driver: postgres\n");
  // Every command that reads the deployment's server.yaml (the remote ones and the replica's too: they
  // used to go on) refuses it.
  const downloaded = join(fx.root, "dl.tar.gz");
  const replicaDb = join(fx.root, "replica.db");
  for (
    const cmd of [
      ["backup", "create", out],
      ["backup", "list"],
      ["backup", "list", "--remote"],
      ["backup", "prune", "--dry-run"],
      ["backup", "prune", "--remote", "--dry-run"],
      ["backup", "download", "never.tar.gz", "-o", downloaded],
      ["backup", "replica", "list"],
      ["backup", "replica", "restore", "-o", replicaDb],
      ["backup", "status"],
      ["backup", "install-units", "--dry-run"],
    ]
  ) {
    const r = await runCli([...cmd, "--server-root", fx.root, "--server-yaml", pg]);
    assert.equal(r.code, CONFIG, `${cmd.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /database\.driver is "postgres"/, cmd.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, cmd.join(" "));
  }
  // restore --db-only puts the database where that server.yaml says: there is no such file here.
  const dbOnly = await runCli([
    "backup",
    "restore",
    good,
    "--target",
    target,
    "--db-only",
    "--server-yaml",
    pg,
  ]);
  assert.equal(dbOnly.code, CONFIG, dbOnly.stderr);
  assert.match(dbOnly.stderr, /database\.driver is "postgres"/);
  assert.ok(!(await exists(out)) && !(await exists(downloaded)) && !(await exists(replicaDb)));
});

Deno.test("a database in use by another process refuses restore unless --force", async () => {
  await setup();
  const notHolderFiles = (rel: string) => rel === "db/vigo.db-wal" || rel === "db/vigo.db-shm";
  const before = await treeHash(target, notHolderFiles);
  const holder = new Deno.Command("sqlite3", {
    args: [join(target, "db/vigo.db")],
    stdin: "piped",
    stdout: "null",
  })
    .spawn();
  const w = holder.stdin.getWriter();
  await w.write(new TextEncoder().encode("SELECT count(*) FROM t;\n"));
  await new Promise((r) => setTimeout(r, 500));
  try {
    const r = await runCli(["backup", "restore", good, "--target", target]);
    assert.equal(r.code, BUSY, r.stderr);
    assert.match(r.stderr, /in use by another process/);
    // Named, since "stop the server" is no help when the server is stopped and this shell holds it.
    assert.match(r.stderr, new RegExp(`\\(PID ${holder.pid} sqlite3 [^)]*\\); stop it first`));
    assert.deepEqual(await treeHash(target, notHolderFiles), before);
    const forced = await runCli(["backup", "restore", good, "--target", target, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
  } finally {
    await w.close();
    await holder.status;
  }
});

Deno.test("an unreadable secrets file fails create, naming the file", async () => {
  await setup();
  const secret = join(fx.root, "secrets/vigo/backup/aws_access_key");
  if (Deno.uid() === 0) {
    // root reads any file: the CLI runs as nobody, so open the tree up for it except the secret.
    await new Deno.Command("chmod", { args: ["-R", "a+rwX", fx.root] }).output();
  }
  await Deno.chmod(secret, 0o000);
  const out = join(fx.root, "snapshots", "unreadable.tar.gz");
  const asRoot = Deno.uid() === 0;
  const home = await Deno.makeTempDir({ prefix: "vigo-nobody-" });
  try {
    let code: number;
    let stderr: string;
    if (asRoot) {
      await Deno.chmod(home, 0o777);
      ({ code, stderr } = await runCli(["backup", "create", ...fx.flags, out], {
        via: AS_NOBODY,
        env: { HOME: home, DENO_DIR: `${home}/deno` },
      }));
      await Deno.chmod(fx.root, 0o700);
    } else {
      ({ code, stderr } = await runCli(["backup", "create", ...fx.flags, out]));
    }
    assert.equal(code, 11, stderr);
    assert.match(stderr, /aws_access_key: permission denied/);
    assert.ok(!(await exists(out)));
  } finally {
    await Deno.chmod(secret, 0o600);
    await Deno.remove(home, { recursive: true });
  }
});

/**
 * An archive whose database is corrupt although the manifest and the sidecar agree with it (as anyone
 * could make them: neither is authenticated). Built with Python: one page of the database's table is
 * damaged, its SHA-256 rewritten in the manifest, and a new sidecar written.
 */
async function craftCorruptDatabase(name: string): Promise<string> {
  const out = join(fx.root, "snapshots", name);
  const script = `
import hashlib, io, json, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src, "r:gz") as tin:
    members = [(m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()]
data = dict((m.name, d) for m, d in members)
db = bytearray(data["db/vigo.db"])
page = int.from_bytes(db[16:18], "big")
assert len(db) >= 4 * page
db[2 * page + 8 : 2 * page + 24] = b"\\xff" * 16  # page 3's cell pointers: out of range
manifest = json.loads(data["manifest.json"])
for e in manifest["entries"]:
    if e["path"] == "db/vigo.db": e["sha256"] = hashlib.sha256(db).hexdigest()
data["db/vigo.db"] = bytes(db)
data["manifest.json"] = json.dumps(manifest, indent=2).encode()
with tarfile.open(dst, "w:gz", format=tarfile.PAX_FORMAT) as tout:
    for m, _ in members:
        if m.isfile(): m.size = len(data[m.name])
        tout.addfile(m, io.BytesIO(data[m.name]) if m.isfile() else None)
with open(dst, "rb") as f, open(dst + ".sha256", "w") as side:
    side.write(hashlib.sha256(f.read()).hexdigest() + "  " + dst.rsplit("/", 1)[-1] + "\\n")
`;
  const r = await new Deno.Command("python3", { args: ["-c", script, good, out], stderr: "piped" }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return out;
}

Deno.test("a corrupt database whose manifest and sidecar match it: restore and verify refuse", async () => {
  await setup();
  const bad = await craftCorruptDatabase("corrupt-db.tar.gz");
  const verify = await runCli(["backup", "verify", bad]);
  assert.equal(verify.code, VERIFY_FAILED, verify.stderr);
  assert.match(verify.stderr, /integrity_check/);
  assert.equal(verify.stderr.trim().split("\n").length, 1, `one-line error: ${verify.stderr}`);
  // Everything else checks out, so only the database's own integrity_check can refuse these.
  await expectRestoreFails(bad, VERIFY_FAILED, /db\/vigo\.db fails integrity_check/);
  await expectRestoreFails(bad, VERIFY_FAILED, /db\/vigo\.db fails integrity_check/, ["--db-only"]);
  // A dry run does not stage the database, so it reports the plan as before (and writes nothing).
  const before = await treeHash(target);
  const dry = await runCli(["backup", "restore", bad, "--target", target, "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(await treeHash(target), before);
});

Deno.test("a live database failing integrity_check: create refuses with exit 8 and writes nothing", async () => {
  const live = await makeServerRoot({ rows: 200 });
  try {
    // Checkpointed first, so the damage is in the database file the snapshot copies page by page.
    const ck = await new Deno.Command("sqlite3", { args: [live.db, "PRAGMA wal_checkpoint(TRUNCATE);"] })
      .output();
    assert.equal(ck.code, 0);
    const db = await Deno.readFile(live.db);
    const page = (db[16] << 8) | db[17];
    db.fill(0xff, 2 * page + 8, 2 * page + 24); // page 3's cell pointers: out of range
    await Deno.writeFile(live.db, db);
    const outDir = await Deno.makeTempDir({ prefix: "vigo-corrupt-out-" });
    const r = await runCli(["backup", "create", ...live.flags, join(outDir, "x.tar.gz")]);
    assert.equal(r.code, VERIFY_FAILED, r.stderr);
    assert.match(r.stderr, /^vigocli: .*vigo\.db: snapshot fails integrity_check/);
    assert.equal(r.stderr.trim().split("\n").length, 1, `one-line error: ${r.stderr}`);
    assert.deepEqual(
      [...Deno.readDirSync(outDir)].map((e) => e.name),
      [],
      "nothing left in the output directory",
    );
    await Deno.remove(outDir, { recursive: true });
  } finally {
    await Deno.remove(live.root, { recursive: true });
  }
});

Deno.test("cleanup", async () => {
  await Deno.remove(fx.root, { recursive: true });
  await Deno.remove(target, { recursive: true });
});

/**
 * Disk full and read-only, for real: the output directory and the restore target (which holds the
 * staging area) on a small tmpfs and on a read-only bind mount. Every failure is exit 11 with a message
 * naming the path, leaves no temporary file and no half-written output, and the target unchanged; a
 * create succeeds as soon as space returns, and a half archive a killed create left is swept then.
 * An upload to a read-only file:// directory fails the same way, at once, instead of hanging.
 * A download into a full directory names the file it was writing; so does a verify that has no room
 * to extract the database beside the archive.
 * Mounting needs root: without it the tests are skipped, saying so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { randomBytes } from "node:crypto";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot, treeHash } from "./fixture.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("disk_full_cli_test: skipped, mounting a tmpfs needs root");
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A server root whose archive is ~400 KB (incompressible), a small tmpfs, and a read-only view of it. */
async function setup() {
  const fx = await makeServerRoot({ rows: 100 });
  await Deno.writeFile(join(fx.root, "stacks/vars/big.bin"), randomBytes(400_000));
  const small = join(fx.root, "small");
  const ro = join(fx.root, "ro");
  await Deno.mkdir(small);
  await Deno.mkdir(ro);
  await sh(`mount -t tmpfs -o size=256k,mode=0755 tmpfs '${small}'`);
  await sh(`mount --bind '${small}' '${ro}' && mount -o remount,bind,ro '${ro}'`);
  const cleanup = async () => {
    await sh(`umount '${ro}'; umount '${small}'`);
    await Deno.remove(fx.root, { recursive: true });
  };
  return { fx, small, ro, cleanup };
}

function expectIo(r: { code: number; stderr: string }, path: string, what: RegExp): void {
  assert.equal(r.code, 11, r.stderr);
  assert.ok(r.stderr.includes(path), `message does not name ${path}: ${r.stderr}`);
  assert.match(r.stderr, what);
}

Deno.test({
  name:
    "create into a full or read-only directory: exit 11 naming it, no temp left; works once space returns",
  ignore: !isRoot,
  async fn() {
    const { fx, small, ro, cleanup } = await setup();
    try {
      // What a create killed on a full disk used to leave for good: swept by the next create.
      const dead = new Deno.Command("true").spawn();
      await dead.status;
      await Deno.writeFile(join(small, `.x.tar.gz.tmp-${dead.pid}-0123456789ab`), new Uint8Array(30_000));
      const out = join(small, "x.tar.gz");
      expectIo(await runCli(["backup", "create", ...fx.flags, out]), out, /no space left on device/);
      assert.deepEqual(names(small), []);
      expectIo(await runCli(["backup", "create", ...fx.flags, join(ro, "y.tar.gz")]), ro, /read-only/);
      await sh(`mount -o remount,size=2m '${small}'`);
      const ok = await runCli(["backup", "create", ...fx.flags, out]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(names(small), ["x.tar.gz", "x.tar.gz.sha256"]);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "restore onto a full or read-only target: exit 11 naming it, target unchanged, no staging left",
  ignore: !isRoot,
  async fn() {
    const { fx, small, ro, cleanup } = await setup();
    try {
      const archive = join(fx.root, "a.tar.gz");
      assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
      // A small earlier state of the target: a server.yaml and a stacks/ file.
      await Deno.mkdir(join(small, "stacks"));
      await Deno.writeTextFile(join(small, "stacks/old.yaml"), "old: true\n");
      await Deno.writeTextFile(join(small, "server.yaml"), "database:\n  driver: sqlite\n");
      const before = await treeHash(small);
      const full = await runCli(["backup", "restore", archive, "--target", small]);
      expectIo(full, small, /no space left on device/);
      assert.deepEqual(await treeHash(small), before);
      const rdonly = await runCli(["backup", "restore", archive, "--target", ro]);
      expectIo(rdonly, ro, /read-only/);
      assert.deepEqual(await treeHash(small), before);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "create uploading to a file:// URL on a read-only directory: exit 11 naming it, no hang",
  ignore: !isRoot,
  async fn() {
    const { fx, ro, cleanup } = await setup();
    try {
      // The upload failed making its directory, before reading the archive: the writer waited forever.
      const r = await runCli(["backup", "create", ...fx.flags, `file://${ro}/up`], { timeoutMs: 30_000 });
      expectIo(r, ro, /read-only/);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "download into a full directory: exit 11 naming the file, no temp left; works once space returns",
  ignore: !isRoot,
  async fn() {
    const { fx, small, cleanup } = await setup();
    try {
      const remote = `file://${fx.root}/remote`;
      assert.equal((await runCli(["backup", "create", ...fx.flags, remote])).code, 0);
      const name = names(join(fx.root, "remote/archives")).find((n) => n.endsWith(".tar.gz"))!;
      const download = () => runCli(["backup", "download", name, "--url", remote, "-o", `${small}/`]);
      expectIo(await download(), join(small, name), /no space left on device/);
      assert.deepEqual(names(small), []);
      await sh(`mount -o remount,size=2m '${small}'`);
      const ok = await download();
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(names(small), [name, `${name}.sha256`]);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "verify of an archive on a full disk: exit 11 naming the extracted copy, not the archive; no temp left",
  ignore: !isRoot,
  async fn() {
    const { fx, small, cleanup } = await setup();
    try {
      await sh(`mount -o remount,size=2m '${small}'`);
      const archive = join(small, "a.tar.gz");
      assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
      await sh(`dd if=/dev/zero of='${small}/filler' bs=4k 2>/dev/null || true`);
      const r = await runCli(["backup", "verify", archive]);
      assert.equal(r.code, 11, r.stderr);
      assert.match(r.stderr, /\.vigo-verify-[^ ]*\/vigo\.db: no space left on device/);
      assert.deepEqual(names(small), ["a.tar.gz", "a.tar.gz.sha256", "filler"]);
      await Deno.remove(join(small, "filler"));
      const ok = await runCli(["backup", "verify", archive]);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await cleanup();
    }
  },
});

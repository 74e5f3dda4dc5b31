/**
 * An sftp:// upload onto a full disk on the server (a real sshd whose remote directory is a small tmpfs):
 * SSH_FX_FAILURE carries no reason, so the backend asks the server (statvfs@openssh.com) and says "no space
 * left on the server's disk (N bytes free)", exit 7, for `backup upload` and `create --upload` alike; before,
 * both said only "sftp://…/archives/NAME: Failure". The temporary file is removed, nothing is left there.
 * Mounting needs root: without it the test is skipped, saying so. A write refused for another reason (an
 * sftp-server under a file size limit) is said as the server's failure, with the room its disk has left.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import { type Sshd, startSshd } from "../helpers/sshd.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("remote_disk_full_cli_test: skipped, mounting a tmpfs needs root");

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Makes `root`'s archive a.tar.gz, of 3 MiB of random bytes (which do not compress); its path. */
async function bigArchive(root: string): Promise<string> {
  const big = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  await Deno.writeFile(join(root, "stacks", "roles", "big.bin"), big);
  const local = join(root, "snapshots", "a.tar.gz");
  const r = await runCli(["backup", "create", "--server-root", root, local]);
  assert.equal(r.code, 0, r.stderr);
  return local;
}

/** Points `root` at `sshd`'s directory `sub`; the CLI flags that use it. */
async function useRemote(root: string, sshd: Sshd, sub: string): Promise<string[]> {
  const yaml = join(root, "sftp.yaml");
  await Deno.writeTextFile(
    yaml,
    `database:\n  driver: sqlite\nbackup:\n  url: ${sshd.url(sub)}\n  key_path: ${sshd.clientKey}\n` +
      `  known_hosts_path: ${sshd.knownHosts}\n`,
  );
  return ["--server-root", root, "--server-yaml", yaml];
}

Deno.test({
  name: "sftp:// upload onto the server's full disk: exit 7 saying no space is left there, nothing left",
  ignore: !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sshd = await startSshd();
    const fx = await makeServerRoot();
    const disk = join(sshd.dataDir, "full");
    await Deno.mkdir(disk);
    await sh(`mount -t tmpfs -o size=1m tmpfs '${disk}'`);
    try {
      const local = await bigArchive(fx.root);
      const flags = await useRemote(fx.root, sshd, "full/vigo");
      const archives = join(disk, "vigo", "archives");

      const up = await runCli(["backup", "upload", local, ...flags]);
      assert.equal(up.code, 7, up.stderr);
      const where = `${sshd.url("full/vigo")}/archives/a.tar.gz`;
      const said = new RegExp(
        `^vigocli: ${where}: no space left on the server's disk \\((\\d+) bytes free\\)\\n$`,
      );
      assert.match(up.stderr, said);
      assert.ok(Number(said.exec(up.stderr)![1]) < 64 * 1024, up.stderr);
      assert.deepEqual([...Deno.readDirSync(archives)], [], "its temporary file is removed");

      const made = await runCli([
        "backup",
        "create",
        "--upload",
        join(fx.root, "snapshots", "b.tar.gz"),
        ...flags,
      ]);
      assert.equal(made.code, 7, made.stderr);
      assert.match(
        made.stderr,
        /\/archives\/b\.tar\.gz: no space left on the server's disk \(\d+ bytes free\)/,
      );
      assert.deepEqual([...Deno.readDirSync(archives)], [], "its temporary file is removed");
    } finally {
      await sh(`umount '${disk}'`);
      await sshd.cleanup();
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});

Deno.test({
  name: "sftp:// upload the server refuses for another reason: said as its failure, with the room left",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A file size limit of 1 MiB (in 512-byte blocks), SIGXFSZ ignored: a write past it is EFBIG, which
    // sftp-server answers with SSH_FX_FAILURE as it does ENOSPC, on a disk with room to spare.
    const bin = await Deno.makeTempDir({ prefix: "vigo-sftp-fsize-" });
    const server = join(bin, "sftp-server");
    await Deno.writeTextFile(
      server,
      "#!/bin/sh\nulimit -f 2048\ntrap '' XFSZ\nexec /usr/lib/openssh/sftp-server\n",
      { mode: 0o755 },
    );
    const sshd = await startSshd([`Subsystem sftp ${server}`]);
    const fx = await makeServerRoot();
    try {
      const local = await bigArchive(fx.root);
      const flags = await useRemote(fx.root, sshd, "vigo");
      const up = await runCli(["backup", "upload", local, ...flags]);
      assert.equal(up.code, 7, up.stderr);
      const where = `${sshd.url("vigo")}/archives/a.tar.gz`;
      const said = new RegExp(
        `^vigocli: ${where}: the server reported a failure \\(SSH_FX_FAILURE, which gives no reason\\) ` +
          `writing it; (\\d+) bytes are free on its disk\\n$`,
      );
      assert.match(up.stderr, said);
      assert.deepEqual([...Deno.readDirSync(join(sshd.dataDir, "vigo", "archives"))], [], "nothing is left");
    } finally {
      await sshd.cleanup();
      await Deno.remove(fx.root, { recursive: true });
      await Deno.remove(bin, { recursive: true });
    }
  },
});

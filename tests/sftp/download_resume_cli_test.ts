/**
 * `backup download` from sftp:// (real sshd) whose sftp-server is SIGKILLed mid-download
 * (kill_sftp_server_midread.py, sshd's ForceCommand, does it once 2 MiB have gone out): the download
 * resumes on a new session from the byte reached and completes byte for byte, its sidecar verified; an
 * archive replaced on the server while the first session was down is refused, naming it.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { type Sshd, startSshd } from "../helpers/sshd.ts";
import { exists, makeServerRoot, type ServerFixture } from "../archive/fixture.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const RELAY = new URL("./kill_sftp_server_midread.py", import.meta.url).pathname;
/** Bytes the first session sends before its sftp-server is killed: well inside the archive. */
const KILL_AFTER = 2 * 1024 * 1024;

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
}

/** A host whose backup.url is on `sshd`, with a local archive of ~8 MiB that does not compress. */
async function hostWithArchive(sshd: Sshd): Promise<{ host: ServerFixture; archive: string }> {
  const host = await makeServerRoot({
    yaml: `database:\n  driver: sqlite\nbackup:\n  url: ${sshd.url("vigo")}\n` +
      `  key_path: ${sshd.clientKey}\n  known_hosts_path: ${sshd.knownHosts}\n`,
  });
  const f = await Deno.open(join(host.root, "stacks", "noise.bin"), { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < 8 * 16; i++) await f.write(crypto.getRandomValues(chunk));
  f.close();
  const r = await runCli([
    "backup",
    "create",
    ...host.flags,
    join(host.root, "snapshots", "big.tar.gz"),
    "--json",
  ]);
  ok(r, "create");
  return { host, archive: JSON.parse(r.stdout).path };
}

/** Puts the archive and its sidecar on the server as an upload leaves them (plain files below the URL). */
async function storeOnServer(sshd: Sshd, archive: string): Promise<string> {
  const dir = join(sshd.dataDir, "vigo", "archives");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(archive, join(dir, "big.tar.gz"));
  await Deno.copyFile(`${archive}.sha256`, join(dir, "big.tar.gz.sha256"));
  return join(dir, "big.tar.gz");
}

/** Runs `fn` with an sshd whose sessions go through the relay; `marker` is the relay's first argument. */
async function withKillingSshd(fn: (sshd: Sshd, marker: string) => Promise<void>): Promise<void> {
  const markerDir = await Deno.makeTempDir({ prefix: "vigo-midread-" });
  const marker = join(markerDir, "killed");
  const sshd = await startSshd([`ForceCommand ${RELAY} ${marker} ${KILL_AFTER}`]);
  try {
    await fn(sshd, marker);
  } finally {
    await sshd.cleanup();
    await Deno.remove(markerDir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "backup download on sftp://: sftp-server killed mid-download, the download resumes byte for byte",
  ...opts,
  async fn() {
    await withKillingSshd(async (sshd, marker) => {
      const { host, archive } = await hostWithArchive(sshd);
      try {
        await storeOnServer(sshd, archive);
        const dl = join(host.root, "dl", "big.tar.gz");
        await Deno.mkdir(dirname(dl));
        const r = await runCli(["backup", "download", "big.tar.gz", "-o", dl, ...host.flags]);
        assert.ok(await exists(marker), "the sftp-server was killed mid-download");
        ok(r, "download");
        assert.match(
          r.stderr,
          /vigocli: retry 1\/6 in \d+ ms: get sftp:\/\/\S+\/vigo\/archives\/big\.tar\.gz: connection lost after \d+ bytes/,
        );
        const after = Number(/connection lost after (\d+) bytes/.exec(r.stderr)![1]);
        assert.ok(after > 0 && after < (await Deno.stat(archive)).size, `resumed at ${after}`);
        assert.match(r.stdout, /matches the remote sidecar/);
        assert.deepEqual(await Deno.readFile(dl), await Deno.readFile(archive));
        assert.equal(
          (await Deno.readTextFile(`${dl}.sha256`)).split(/\s/)[0],
          (await Deno.readTextFile(`${archive}.sha256`)).split(/\s/)[0],
        );
        ok(await runCli(["backup", "verify", dl]), "verify of the download");
      } finally {
        await Deno.remove(host.root, { recursive: true }).catch(() => {});
      }
    });
  },
});

Deno.test({
  name:
    "backup download on sftp://: an archive replaced on the server between attempts is refused, naming it",
  ...opts,
  async fn() {
    await withKillingSshd(async (sshd, marker) => {
      const { host, archive } = await hostWithArchive(sshd);
      try {
        const stored = await storeOnServer(sshd, archive);
        // Same size, other bytes, another mtime: only the mtime tells it from the object first opened.
        const bytes = await Deno.readFile(archive);
        const replacement = join(sshd.dir, "replacement.bin");
        await Deno.writeFile(replacement, bytes.map((b) => b ^ 0xff));
        await Deno.utime(replacement, new Date("2001-09-09T01:46:40Z"), new Date("2001-09-09T01:46:40Z"));
        await Deno.writeTextFile(`${marker}.replace`, `${replacement} ${stored}`);
        const dl = join(host.root, "dl", "big.tar.gz");
        await Deno.mkdir(dirname(dl));
        const r = await runCli(["backup", "download", "big.tar.gz", "-o", dl, ...host.flags]);
        assert.ok(await exists(marker), "the sftp-server was killed mid-download");
        assert.equal(r.code, 7, r.stderr);
        const last = r.stderr.trim().split("\n").at(-1)!;
        assert.match(
          last,
          /^vigocli: sftp:\/\/\S+\/vigo\/archives\/big\.tar\.gz: changed on the server after \d+ bytes were read \(mtime \S+ -> 2001-09-09T01:46:40Z\); download it again$/,
        );
        assert.deepEqual([...Deno.readDirSync(dirname(dl))], [], "nothing left in the download's directory");
      } finally {
        await Deno.remove(host.root, { recursive: true }).catch(() => {});
      }
    });
  },
});

/**
 * `backup list --remote` on file:// and sftp:// (real sshd) changes nothing on the backend: a dead run's
 * temporary file under archives/ stays, is not listed as an archive, and is counted in one line under the
 * table; `--json` keeps its array of archives. Its listing removed the file without a word before (only
 * `backup prune --remote --dry-run` spared it, 0937825). `backup status`, which lists archives/ too,
 * keeps it as well.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";

const ARCHIVE = "vigo-backup-20260101T000000Z.tar.gz";

/** `.NAME.tmp-<pid>-<hex>`, the name a put's temporary file has (lib/fsutil/atomic_file.ts). */
const tempName = (pid: number) => `.${ARCHIVE}.tmp-${pid}-0123456789ab`;

/** Writes `archives/ARCHIVE` (gzip, as an archive starts) and its sidecar. */
async function plantArchive(archivesDir: string): Promise<void> {
  const gz = new Response(
    new Blob([new TextEncoder().encode("not a tar, but gzip")]).stream().pipeThrough(
      new CompressionStream("gzip"),
    ),
  );
  await Deno.writeFile(join(archivesDir, ARCHIVE), new Uint8Array(await gz.arrayBuffer()));
  await Deno.writeTextFile(join(archivesDir, `${ARCHIVE}.sha256`), `${"0".repeat(64)}  ${ARCHIVE}\n`);
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** Lists `archivesDir`'s backend (server.yaml `backup:` lines `yaml`) holding the dead run's file `dead`. */
async function checkListKeeps(yaml: string, archivesDir: string, dead: string): Promise<void> {
  const host = await Deno.makeTempDir({ prefix: "vigo-list-remote-" });
  try {
    const serverYaml = join(host, "server.yaml");
    await Deno.writeTextFile(serverYaml, `database:\n  driver: sqlite\nbackup:\n${yaml}`);
    const flags = ["--server-yaml", serverYaml, "--server-root", join(host, "srv")];
    const all = [ARCHIVE, `${ARCHIVE}.sha256`, dead].sort();

    const text = await runCli(["backup", "list", "--remote", ...flags]);
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(names(archivesDir), all, "a listing removes nothing");
    assert.ok(!text.stdout.includes(".tmp-"), text.stdout);
    assert.match(text.stdout, new RegExp(`^${ARCHIVE.replaceAll(".", "\\.")}  `, "m"));
    assert.match(
      text.stdout,
      /^1 temporary file\(s\) of killed runs \(removed by the next backup prune --remote\)$/m,
    );

    const json = await runCli(["backup", "list", "--remote", "--json", ...flags]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).map((r: { name: string }) => r.name), [ARCHIVE]);
    assert.deepEqual(names(archivesDir), all, "a listing removes nothing");

    await runCli(["backup", "status", "--json", ...flags]);
    assert.deepEqual(names(archivesDir), all, "status removes nothing");
  } finally {
    await Deno.remove(host, { recursive: true });
  }
}

/** The PID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("backup list --remote on file:// keeps a dead run's temporary file and counts it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-list-file-" });
  try {
    const archivesDir = join(dir, "archives");
    await Deno.mkdir(archivesDir);
    await plantArchive(archivesDir);
    const dead = tempName(await deadPid());
    await Deno.writeTextFile(join(archivesDir, dead), "half an archive");
    await checkListKeeps(`  url: file://${dir}\n`, archivesDir, dead);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "backup list --remote on sftp:// (real sshd) keeps a week-old temporary file and counts it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sshd = await startSshd();
    try {
      const archivesDir = join(sshd.dataDir, "vigo", "archives");
      await Deno.mkdir(archivesDir, { recursive: true });
      await plantArchive(archivesDir);
      // Another host's PID means nothing here: sftp:// removes our temporary names once a week old.
      const dead = tempName(4711);
      const path = join(archivesDir, dead);
      await Deno.writeTextFile(path, "half an archive");
      const then = new Date(Date.now() - 8 * 24 * 3600 * 1000);
      await Deno.utime(path, then, then);
      await checkListKeeps(
        `  url: ${sshd.url("vigo")}\n  key_path: ${sshd.clientKey}\n  known_hosts_path: ${sshd.knownHosts}\n`,
        archivesDir,
        dead,
      );
    } finally {
      await sshd.cleanup();
    }
  },
});

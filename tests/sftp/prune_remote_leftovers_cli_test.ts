/**
 * `backup prune --remote` on file:// and sftp:// (real sshd) lists the temporary files of dead runs that
 * its listing of archives/ removed, as a local prune lists its leftovers: `delete  NAME  (why)` lines and
 * the count in its text, `leftovers` in `--json`; a dry run lists them as ones it would delete and keeps
 * them (its listing removed them too before, and its last line said so). A temporary file a live upload may still be writing stays and is not
 * listed. Both removed them without a word before (`leftovers: null`). So are the sidecars whose
 * archive is gone (a prune killed between its two deletes) that it deletes, or in a dry run would delete
 * (`would delete  NAME  (why)`; before, deleted unlisted, and in a dry run neither).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";

/** A backend whose archives/ is a directory on this disk. */
interface Target {
  yaml: string;
  archivesDir: string;
  /** Plants a temporary file a dead run left, which the backend's listing removes; returns its name. */
  plantDead(): Promise<string>;
  /** Plants one a live run may be writing, which no listing may remove; returns its name. */
  plantLive(): Promise<string>;
}

const REASON = "temporary file of a killed run";

async function pruneRemote(flags: string[], ...extra: string[]) {
  const r = await runCli(["backup", "prune", "--remote", "--keep", "1", ...flags, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

async function checkLeftovers(t: Target): Promise<void> {
  const host = await Deno.makeTempDir({ prefix: "vigo-prune-remote-" });
  try {
    const yaml = join(host, "server.yaml");
    await Deno.writeTextFile(yaml, `database:\n  driver: sqlite\nbackup:\n${t.yaml}`);
    const flags = ["--server-yaml", yaml, "--server-root", join(host, "srv")];
    await Deno.mkdir(t.archivesDir, { recursive: true });
    const live = await t.plantLive();

    const dead = await t.plantDead();
    const dry = JSON.parse(await pruneRemote(flags, "--dry-run", "--json"));
    assert.deepEqual(dry.leftovers, [{ name: dead, reason: REASON }]);
    assert.deepEqual(names(t.archivesDir), [dead, live].sort(), "a dry run removes nothing");
    const dryText = await pruneRemote(flags, "--dry-run");
    assert.match(dryText, new RegExp(`^would delete  ${dead.replaceAll(".", "\\.")}  \\(${REASON}\\)$`, "m"));
    assert.match(
      dryText,
      /: would delete 0 of 0 archive\(s\) and 1 leftover file\(s\) of killed runs; nothing was deleted$/m,
    );
    assert.deepEqual(names(t.archivesDir), [dead, live].sort(), "a dry run removes nothing");

    const text = await pruneRemote(flags);
    assert.match(text, new RegExp(`^delete  ${dead.replaceAll(".", "\\.")}  \\(${REASON}\\)$`, "m"));
    assert.match(text, /: deleted 0 of 0 archive\(s\) and 1 leftover file\(s\) of killed runs$/m);
    assert.deepEqual(names(t.archivesDir), [live]);
    assert.deepEqual(JSON.parse(await pruneRemote(flags, "--json")).leftovers, [], "nothing left to remove");
  } finally {
    await Deno.remove(host, { recursive: true });
  }
}

const ORPHAN = "sidecar whose archive is gone";

/** Writes `archives/NAME` (gzip, as an archive starts) and its sidecar. */
async function plantArchive(archivesDir: string, name: string): Promise<void> {
  const gz = new Response(
    new Blob([new TextEncoder().encode("not a tar, but gzip")]).stream().pipeThrough(
      new CompressionStream("gzip"),
    ),
  );
  await Deno.writeFile(join(archivesDir, name), new Uint8Array(await gz.arrayBuffer()));
  await Deno.writeTextFile(join(archivesDir, `${name}.sha256`), `${"0".repeat(64)}  ${name}\n`);
}

/** A lone sidecar beside a kept archive with its own: listed as a leftover, in a dry run too. */
async function checkOrphanSidecars(t: Pick<Target, "yaml" | "archivesDir">): Promise<void> {
  const host = await Deno.makeTempDir({ prefix: "vigo-prune-remote-" });
  try {
    const yaml = join(host, "server.yaml");
    await Deno.writeTextFile(yaml, `database:\n  driver: sqlite\nbackup:\n${t.yaml}`);
    const flags = ["--server-yaml", yaml, "--server-root", join(host, "srv")];
    await Deno.mkdir(t.archivesDir, { recursive: true });
    const kept = "vigo-backup-20260101T000000Z.tar.gz";
    await plantArchive(t.archivesDir, kept);
    const lone = "vigo-backup-20250101T000000Z.tar.gz.sha256";
    await Deno.writeTextFile(join(t.archivesDir, lone), `${"0".repeat(64)}  ${lone.slice(0, -7)}\n`);
    const all = [kept, `${kept}.sha256`, lone].sort();

    const dry = JSON.parse(await pruneRemote(flags, "--dry-run", "--json"));
    assert.deepEqual(dry.leftovers, [{ name: lone, reason: ORPHAN }]);
    assert.deepEqual(names(t.archivesDir), all, "a dry run deletes nothing");
    const dryText = await pruneRemote(flags, "--dry-run");
    assert.match(dryText, new RegExp(`^would delete  ${lone.replaceAll(".", "\\.")}  \\(${ORPHAN}\\)$`, "m"));
    assert.match(
      dryText,
      /: would delete 0 of 1 archive\(s\) and 1 leftover file\(s\) of killed runs; nothing was deleted$/m,
    );

    const text = await pruneRemote(flags);
    assert.match(text, new RegExp(`^delete  ${lone.replaceAll(".", "\\.")}  \\(${ORPHAN}\\)$`, "m"));
    assert.match(text, /: deleted 0 of 1 archive\(s\) and 1 leftover file\(s\) of killed runs$/m);
    assert.deepEqual(names(t.archivesDir), [kept, `${kept}.sha256`]);
    assert.deepEqual(JSON.parse(await pruneRemote(flags, "--json")).leftovers, [], "nothing left to remove");
  } finally {
    await Deno.remove(host, { recursive: true });
  }
}

/** `.NAME.tmp-<pid>-<hex>`, the name a put's temporary file has (lib/fsutil/atomic_file.ts). */
function tempName(pid: number): string {
  const hex = [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0"));
  return `.vigo-backup-20260101T000000Z.tar.gz.tmp-${pid}-${hex.join("")}`;
}

/** The PID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("prune --remote on file:// lists the dead runs' temporary files its listing removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-prune-file-" });
  const archivesDir = join(dir, "archives");
  const plant = async (pid: number) => {
    const name = tempName(pid);
    await Deno.writeTextFile(join(archivesDir, name), "half an archive");
    return name;
  };
  try {
    await checkLeftovers({
      yaml: `  url: file://${dir}\n`,
      archivesDir,
      plantDead: async () => plant(await deadPid()),
      // This test's own PID: running for as long as the prunes do.
      plantLive: () => plant(Deno.pid),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prune --remote on file:// lists the sidecars whose archive is gone that it deletes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-prune-file-" });
  try {
    await checkOrphanSidecars({
      yaml: `  url: file://${dir}\n`,
      archivesDir: join(dir, "archives"),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "prune --remote on sftp:// (real sshd) lists the week-old temporary files its listing removed and the lone sidecars it deletes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sshd = await startSshd();
    const archivesDir = join(sshd.dataDir, "vigo", "archives");
    // Another host's PID means nothing here: sftp:// removes our temporary names once a week old.
    const plant = async (ageDays: number) => {
      const name = tempName(4711);
      const path = join(archivesDir, name);
      await Deno.writeTextFile(path, "half an archive");
      const then = new Date(Date.now() - ageDays * 24 * 3600 * 1000);
      await Deno.utime(path, then, then);
      return name;
    };
    try {
      await checkLeftovers({
        yaml: `  url: ${
          sshd.url("vigo")
        }\n  key_path: ${sshd.clientKey}\n  known_hosts_path: ${sshd.knownHosts}\n`,
        archivesDir,
        plantDead: () => plant(8),
        plantLive: () => plant(0),
      });
      await checkOrphanSidecars({
        yaml: `  url: ${
          sshd.url("lone")
        }\n  key_path: ${sshd.clientKey}\n  known_hosts_path: ${sshd.knownHosts}\n`,
        archivesDir: join(sshd.dataDir, "lone", "archives"),
      });
    } finally {
      await sshd.cleanup();
    }
  },
});

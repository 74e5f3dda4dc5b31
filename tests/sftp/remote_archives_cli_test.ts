/**
 * Archives shipped off the host and fetched on a fresh one, through the CLI, on every backend that
 * runs here (file://; sftp:// on a real sshd; s3:// and gcs:// with HMAC keys on the SigV4-checking
 * s3rver): host A creates with --upload; host B (an empty server root, only a server.yaml naming the
 * backend) lists --remote, downloads, and restores from the URL → the tree is byte-for-byte host A's.
 * Also: an upload-only encrypted archive, a tampered remote archive refused by download (nothing
 * written), a missing name, and prune (also of a sidecar whose archive a killed prune deleted).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { exists, makeServerRoot, treeHash } from "../archive/fixture.ts";
import { ARCHIVE_PASSWORD } from "../helpers/test_secrets.ts";

/** A backend for one run: its URL, the server.yaml `backup:` lines, and a way to reach the stored bytes. */
interface Target {
  url: string;
  yaml: string;
  /** Local path of the stored archive object, when the backend keeps files on this disk. */
  objectPath?(key: string): string;
}

const notDb = (rel: string) => rel === "snapshots" || rel.startsWith("db/vigo.db");
const dbDigest = (db: string) => sqliteQuery(db, "SELECT hex(sha3_query('SELECT * FROM t ORDER BY id'))");

function ok(r: { code: number; stderr: string; stdout: string }, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
}

async function roundTrip(target: Target): Promise<void> {
  const hostA = await makeServerRoot({ yaml: `database:\n  driver: sqlite\nbackup:\n${target.yaml}` });
  const hostB = await Deno.makeTempDir({ prefix: "vigo-hostb-" });
  const rootB = join(hostB, "srv");
  const yamlB = join(hostB, "server.yaml");
  await Deno.writeTextFile(yamlB, `database:\n  driver: sqlite\nbackup:\n${target.yaml}`);
  const flagsB = ["--server-yaml", yamlB, "--server-root", rootB];
  try {
    const created = await runCli(["backup", "create", ...hostA.flags, "--upload", "--json"]);
    ok(created, "create --upload");
    const made = JSON.parse(created.stdout);
    assert.ok(made.path && made.upload, created.stdout);
    const name = made.upload.key.replace(/^archives\//, "");

    const listed = await runCli(["backup", "list", "--remote", "--json", ...flagsB]);
    ok(listed, "list --remote");
    // It reads 64 bytes of each archive and cancels the rest: no "connection lost" retry for that.
    assert.doesNotMatch(listed.stderr, /retry/, listed.stderr);
    const rows = JSON.parse(listed.stdout);
    assert.equal(rows.length, 1, listed.stdout);
    assert.equal(rows[0].name, name);
    assert.equal(rows[0].size, made.bytes);
    assert.equal(rows[0].sidecar, true);
    assert.equal(rows[0].encrypted, false);

    const dl = join(hostB, "dl");
    await Deno.mkdir(dl);
    const got = await runCli(["backup", "download", name, "-o", dl, "--json", ...flagsB]);
    ok(got, "download");
    assert.equal(JSON.parse(got.stdout).sha256, made.sha256);
    assert.deepEqual(await Deno.readFile(join(dl, name)), await Deno.readFile(made.path));
    assert.ok(await exists(join(dl, `${name}.sha256`)));

    const missing = await runCli(["backup", "download", "nope.tar.gz", "-o", dl, ...flagsB]);
    assert.equal(missing.code, 9, missing.stderr);

    const restored = await runCli([
      "backup",
      "restore",
      rows[0].url,
      "--target",
      rootB,
      "--server-yaml",
      yamlB,
    ]);
    ok(restored, "restore URL");
    assert.deepEqual(await treeHash(rootB, notDb), await treeHash(hostA.root, notDb));
    assert.equal(await dbDigest(join(rootB, "db/vigo.db")), await dbDigest(hostA.db));
    assert.deepEqual(
      [...Deno.readDirSync(hostB)].map((e) => e.name).sort(),
      ["dl", "server.yaml", "srv"],
      "the download's temporary directory is gone",
    );

    // An upload-only, encrypted archive: OUT given as the backend URL (a second later: names are per second).
    await new Promise((r) => setTimeout(r, 1100));
    const pw = join(hostA.root, "pw");
    await Deno.writeTextFile(pw, `${ARCHIVE_PASSWORD}\n`);
    const enc = await runCli([
      "backup",
      "create",
      ...hostA.flags,
      target.url,
      "--encrypt",
      "--password-file",
      pw,
    ]);
    ok(enc, "create URL --encrypt");
    const rows2 = JSON.parse((await runCli(["backup", "list", "--remote", "--json", ...flagsB])).stdout);
    assert.equal(rows2.length, 2);
    assert.deepEqual(rows2.map((r: { encrypted: boolean }) => r.encrypted).sort(), [false, true]);

    if (target.objectPath) {
      // Flip one byte of the stored archive: download refuses it and writes nothing.
      const p = target.objectPath(`archives/${name}`);
      const bytes = await Deno.readFile(p);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      await Deno.writeFile(p, bytes);
      const bad = await runCli(["backup", "download", name, "-o", join(hostB, "bad.tar.gz"), ...flagsB]);
      assert.equal(bad.code, 8, bad.stderr);
      assert.match(bad.stderr, /checksum mismatch/);
      assert.equal(await exists(join(hostB, "bad.tar.gz")), false);
      assert.deepEqual([...Deno.readDirSync(hostB)].filter((e) => e.name.startsWith(".")), []);
    }

    const dry = await runCli([
      "backup",
      "prune",
      "--remote",
      "--keep",
      "1",
      "--dry-run",
      "--json",
      ...flagsB,
    ]);
    ok(dry, "prune --dry-run");
    assert.deepEqual(JSON.parse(dry.stdout).archives.map((a: { action: string }) => a.action), [
      "keep",
      "delete",
    ]);
    assert.equal(
      JSON.parse((await runCli(["backup", "list", "--remote", "--json", ...flagsB])).stdout).length,
      2,
    );
    ok(await runCli(["backup", "prune", "--remote", "--keep", "1", ...flagsB]), "prune");
    const left = JSON.parse((await runCli(["backup", "list", "--remote", "--json", ...flagsB])).stdout);
    assert.equal(left.length, 1);
    assert.equal(left[0].encrypted, true, "the newest (encrypted) archive is the one kept");
    if (target.objectPath) {
      // A prune killed between an archive's delete and its sidecar's left the sidecar alone: the next
      // prune removes it, and keeps the sidecar of the archive that is still there.
      const kept = target.objectPath(`archives/${left[0].name}.sha256`);
      const orphan = target.objectPath("archives/vigo-backup-20200101T000000Z.tar.gz.sha256");
      await Deno.writeTextFile(orphan, `${"0".repeat(64)}  vigo-backup-20200101T000000Z.tar.gz\n`);
      ok(await runCli(["backup", "prune", "--remote", "--keep", "1", ...flagsB]), "prune after a crash");
      assert.equal(await exists(orphan), false, "orphan sidecar removed");
      assert.equal(await exists(kept), true, "the kept archive's sidecar stays");
    }
  } finally {
    await Deno.remove(hostA.root, { recursive: true }).catch(() => {});
    await Deno.remove(hostB, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "remote archives on file://: create --upload on A, list/download/restore on B",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-remote-file-" });
    await roundTrip({
      url: `file://${dir}`,
      yaml: `  url: file://${dir}\n`,
      objectPath: (key) => join(dir, key),
    }).finally(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  },
});

Deno.test({
  name: "remote archives on sftp:// (real sshd): create --upload on A, list/download/restore on B",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sshd = await startSshd();
    try {
      await roundTrip({
        url: sshd.url("vigo"),
        yaml: `  url: ${
          sshd.url("vigo")
        }\n  key_path: ${sshd.clientKey}\n  known_hosts_path: ${sshd.knownHosts}\n`,
        objectPath: (key) => join(sshd.dataDir, "vigo", key),
      });
    } finally {
      await sshd.cleanup();
    }
  },
});

Deno.test({
  name: "remote archives on s3:// (s3rver): create --upload on A, list/download/restore on B",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s3 = await startS3Server();
    try {
      const c = s3.config();
      await roundTrip({
        url: s3.url("vigo"),
        yaml: [
          `  url: ${s3.url("vigo")}`,
          `  endpoint: ${c.endpoint}`,
          `  region: ${c.region}`,
          `  force_path_style: true`,
          `  access_key_id: ${c.accessKeyId}`,
          `  secret_access_key: ${c.secretAccessKey}`,
          "",
        ].join("\n"),
      });
    } finally {
      await s3.stop();
    }
  },
});

Deno.test({
  name:
    "remote archives on gcs:// (HMAC keys, s3rver as the XML API): create --upload on A, list/download/restore on B",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const s3 = await startS3Server();
    try {
      const url = `gcs://${s3.bucket}/vigo`;
      await roundTrip({
        url,
        yaml: [
          `  url: ${url}`,
          `  endpoint: ${s3.endpoint}`,
          `  access_key_id: ${s3.accessKeyId}`,
          `  secret_access_key: ${s3.secretAccessKey}`,
          "",
        ].join("\n"),
      });
    } finally {
      await s3.stop();
    }
  },
});

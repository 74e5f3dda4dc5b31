/**
 * `backup upload` through the CLI, on file://, sftp:// (real sshd), s3:// and gcs:// (HMAC keys; the
 * SigV4-checking s3rver): an archive made by a plain `create` (the backend was down) is uploaded later,
 * listed by another host and downloaded byte for byte, encrypted ones too; a missing or mismatched
 * sidecar and a taken name are refused with nothing uploaded; an upload whose sidecar cannot be stored
 * leaves no archive behind; a `--replace` whose sidecar or archive is refused leaves the old pair.
 */
import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { startFaultProxy } from "../backend/fault_proxy.ts";
import { exists, makeServerRoot, type ServerFixture } from "../archive/fixture.ts";
import { ARCHIVE_PASSWORD } from "../helpers/test_secrets.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
}

/** `backup create` on the host, local only: the archive's path. */
async function createLocal(host: ServerFixture, out: string, extra: string[] = []): Promise<string> {
  const r = await runCli(["backup", "create", ...host.flags, out, "--json", ...extra]);
  ok(r, "create");
  return JSON.parse(r.stdout).path;
}

/** The names `list --remote` shows, with the flags of a host that reads the backend from server.yaml. */
async function remoteNames(flags: string[]): Promise<string[]> {
  const r = await runCli(["backup", "list", "--remote", "--json", ...flags]);
  ok(r, "list --remote");
  return JSON.parse(r.stdout).map((row: { name: string }) => row.name).sort();
}

async function uploadRoundTrip(yaml: string, objectPath?: (key: string) => string): Promise<void> {
  const host = await makeServerRoot({ yaml: `database:\n  driver: sqlite\nbackup:\n${yaml}` });
  const other = await Deno.makeTempDir({ prefix: "vigo-upload-other-" });
  const yamlB = join(other, "server.yaml");
  await Deno.writeTextFile(yamlB, `database:\n  driver: sqlite\nbackup:\n${yaml}`);
  const flagsB = ["--server-yaml", yamlB, "--server-root", join(other, "srv")];
  try {
    const path = await createLocal(host, join(host.root, "snapshots", "plain.tar.gz"));
    const up = await runCli(["backup", "upload", path, "--json", ...host.flags]);
    ok(up, "upload");
    const sent = JSON.parse(up.stdout);
    const sidecar = await Deno.readTextFile(`${path}.sha256`);
    assert.equal(sent.key, "archives/plain.tar.gz");
    assert.equal(sent.sidecar_key, "archives/plain.tar.gz.sha256");
    assert.equal(sent.sha256, sidecar.slice(0, 64));
    assert.equal(sent.bytes, (await Deno.stat(path)).size);
    assert.match(sent.url, /\/archives\/plain\.tar\.gz$/);

    // Encrypted archives go the same way.
    const pw = join(host.root, "pw");
    await Deno.writeTextFile(pw, `${ARCHIVE_PASSWORD}\n`);
    const enc = await createLocal(host, join(host.root, "snapshots", "sealed.tar.gz"), [
      "--encrypt",
      "--password-file",
      pw,
    ]);
    ok(await runCli(["backup", "upload", enc, ...host.flags]), "upload encrypted");

    const listed = await runCli(["backup", "list", "--remote", "--json", ...flagsB]);
    ok(listed, "list --remote");
    const rows = JSON.parse(listed.stdout).sort((a: { name: string }, b: { name: string }) =>
      a.name.localeCompare(b.name)
    );
    assert.deepEqual(
      rows.map((
        r: { name: string; sidecar: boolean; encrypted: boolean },
      ) => [r.name, r.sidecar, r.encrypted]),
      [["plain.tar.gz", true, false], ["sealed.tar.gz", true, true]],
    );
    await Deno.mkdir(join(other, "dl"));
    for (const local of [path, enc]) {
      const dl = join(other, "dl", basename(local));
      ok(await runCli(["backup", "download", basename(local), "-o", dl, ...flagsB]), "download");
      assert.deepEqual(await Deno.readFile(dl), await Deno.readFile(local), "downloaded byte for byte");
      assert.equal(await Deno.readTextFile(`${dl}.sha256`), await Deno.readTextFile(`${local}.sha256`));
    }

    // The name is taken: refused (exit 10), the stored archive untouched; --replace replaces it.
    const again = await runCli(["backup", "upload", path, ...host.flags]);
    assert.equal(again.code, 10, again.stderr);
    assert.match(again.stderr, /already exists/);
    ok(await runCli(["backup", "upload", path, "--replace", ...host.flags]), "upload --replace");

    // No sidecar: refused (exit 8) before anything is sent.
    const bare = join(host.root, "bare.tar.gz");
    await Deno.copyFile(path, bare);
    const noSidecar = await runCli(["backup", "upload", bare, ...host.flags]);
    assert.equal(noSidecar.code, 8, noSidecar.stderr);
    assert.match(noSidecar.stderr, /sidecar is missing/);

    // A sidecar that does not match (one byte of the archive flipped): refused, and nothing is stored.
    const bad = join(host.root, "bad.tar.gz");
    const bytes = await Deno.readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await Deno.writeFile(bad, bytes);
    await Deno.writeTextFile(`${bad}.sha256`, sidecar.replace("plain.tar.gz", "bad.tar.gz"));
    const mismatch = await runCli(["backup", "upload", bad, ...host.flags]);
    assert.equal(mismatch.code, 8, mismatch.stderr);
    assert.match(mismatch.stderr, /checksum mismatch/);
    const complaints = mismatch.stderr.trim().split("\n").filter((l) => !l.startsWith("vigocli: warning:"));
    assert.equal(complaints.length, 1, mismatch.stderr);

    // The same mismatch with --replace over the stored name: refused before the stored archive's
    // sidecar is touched, so it stays downloadable.
    await Deno.mkdir(join(host.root, "flipped"));
    const flipped = join(host.root, "flipped", "plain.tar.gz");
    await Deno.writeFile(flipped, bytes);
    await Deno.writeTextFile(`${flipped}.sha256`, sidecar);
    const replaced = await runCli(["backup", "upload", flipped, "--replace", ...host.flags]);
    assert.equal(replaced.code, 8, replaced.stderr);
    assert.match(replaced.stderr, /checksum mismatch/);
    const kept = join(other, "dl", "kept.tar.gz");
    ok(
      await runCli(["backup", "download", "plain.tar.gz", "-o", kept, ...flagsB]),
      "download after refused replace",
    );
    assert.deepEqual(await Deno.readFile(kept), await Deno.readFile(path));
    await Deno.remove(kept);
    await Deno.remove(`${kept}.sha256`);

    assert.deepEqual(await remoteNames(flagsB), ["plain.tar.gz", "sealed.tar.gz"]);
    if (objectPath) {
      for (const key of ["archives/bare.tar.gz", "archives/bad.tar.gz", "archives/bad.tar.gz.sha256"]) {
        assert.equal(await exists(objectPath(key)), false, key);
      }
      // No temporary file of the refused upload either.
      const left = [...Deno.readDirSync(objectPath("archives"))].map((e) => e.name).sort();
      assert.deepEqual(left, [
        "plain.tar.gz",
        "plain.tar.gz.sha256",
        "sealed.tar.gz",
        "sealed.tar.gz.sha256",
      ]);
    }
  } finally {
    await Deno.remove(host.root, { recursive: true }).catch(() => {});
    await Deno.remove(other, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "backup upload on file://: upload, list --remote, download byte for byte; refusals store nothing",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-upload-file-" });
    await uploadRoundTrip(`  url: file://${dir}\n`, (key) => join(dir, key))
      .finally(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  },
});

Deno.test({
  name: "backup upload on sftp:// (real sshd): upload, list --remote, download; refusals store nothing",
  ...opts,
  async fn() {
    const sshd = await startSshd();
    try {
      await uploadRoundTrip(
        `  url: ${sshd.url("vigo")}\n  key_path: ${sshd.clientKey}\n  known_hosts_path: ${sshd.knownHosts}\n`,
        (key) => join(sshd.dataDir, "vigo", key),
      );
    } finally {
      await sshd.cleanup();
    }
  },
});

function s3Yaml(
  url: string,
  c: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string },
) {
  return [
    `  url: ${url}`,
    `  endpoint: ${c.endpoint}`,
    `  region: ${c.region}`,
    "  force_path_style: true",
    `  access_key_id: ${c.accessKeyId}`,
    `  secret_access_key: ${c.secretAccessKey}`,
    "",
  ].join("\n");
}

Deno.test({
  name: "backup upload on s3:// (s3rver): upload, list --remote, download; refusals store nothing",
  ...opts,
  async fn() {
    const s3 = await startS3Server();
    try {
      await uploadRoundTrip(s3Yaml(s3.url("vigo"), s3.config()));
    } finally {
      await s3.stop();
    }
  },
});

Deno.test({
  name: "backup upload on gcs:// (HMAC keys, s3rver as the XML API): upload, list --remote, download",
  ...opts,
  async fn() {
    const s3 = await startS3Server();
    try {
      const url = `gcs://${s3.bucket}/vigo`;
      await uploadRoundTrip(
        `  url: ${url}\n  endpoint: ${s3.endpoint}\n  access_key_id: ${s3.accessKeyId}\n` +
          `  secret_access_key: ${s3.secretAccessKey}\n`,
      );
    } finally {
      await s3.stop();
    }
  },
});

Deno.test({
  name:
    "backup upload: messages name the archive as it was given (a relative path), --json its absolute path",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-upload-rel-" });
    const host = await makeServerRoot({
      yaml: `database:\n  driver: sqlite\nbackup:\n  url: file://${dir}\n`,
    });
    const inRoot = { cwd: host.root };
    try {
      await createLocal(host, join(host.root, "snapshots", "rel.tar.gz"));
      const rel = join("snapshots", "rel.tar.gz");
      const refused = async (args: string[], message: RegExp) => {
        const r = await runCli(["backup", "upload", ...args, ...host.flags], inRoot);
        assert.notEqual(r.code, 0, r.stderr);
        const line = r.stderr.trim().split("\n").filter((l) => !l.startsWith("vigocli: warning:")).join("\n");
        assert.match(line, message);
        assert.ok(!line.includes(host.root), `no absolute path: ${line}`);
      };
      await refused(["missing.tar.gz"], /^vigocli: missing\.tar\.gz: /);
      await Deno.copyFile(join(host.root, rel), join(host.root, "bare.tar.gz"));
      await refused(["bare.tar.gz"], /^vigocli: bare\.tar\.gz\.sha256: sidecar is missing/);
      const bytes = await Deno.readFile(join(host.root, rel));
      bytes[bytes.length >> 1] ^= 0xff;
      await Deno.writeFile(join(host.root, "bad.tar.gz"), bytes);
      const sidecar = await Deno.readTextFile(join(host.root, `${rel}.sha256`));
      await Deno.writeTextFile(
        join(host.root, "bad.tar.gz.sha256"),
        sidecar.replace("rel.tar.gz", "bad.tar.gz"),
      );
      await refused(["bad.tar.gz"], /^vigocli: bad\.tar\.gz: checksum mismatch/);
      await Deno.writeTextFile(join(host.root, "text.tar.gz"), "not an archive\n");
      await Deno.writeTextFile(join(host.root, "text.tar.gz.sha256"), `${"0".repeat(64)}  text.tar.gz\n`);
      await refused(["text.tar.gz"], /^vigocli: text\.tar\.gz: not a vigocli archive/);

      const up = await runCli(["backup", "upload", rel, "--json", ...host.flags], inRoot);
      ok(up, "upload");
      assert.equal(JSON.parse(up.stdout).path, join(host.root, rel));
      await refused([rel], /^vigocli: file:\/\/.*\/archives\/rel\.tar\.gz: already exists/);
    } finally {
      await Deno.remove(host.root, { recursive: true }).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "backup upload on s3://: a sidecar the server refuses takes the stored archive with it",
  ...opts,
  async fn() {
    const s3 = await startS3Server();
    const proxy = startFaultProxy(s3.endpoint);
    const yaml = s3Yaml(s3.url("vigo"), { ...s3.config(), endpoint: proxy.endpoint });
    const host = await makeServerRoot({ yaml: `database:\n  driver: sqlite\nbackup:\n${yaml}` });
    try {
      const path = await createLocal(host, join(host.root, "snapshots", "half.tar.gz"));
      proxy.refuse(/^PUT .*\/archives\/half\.tar\.gz\.sha256$/);
      const r = await runCli(["backup", "upload", path, ...host.flags]);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, /half\.tar\.gz\.sha256/);
      assert.ok(
        proxy.log.some((l) => /^PUT .*\/archives\/half\.tar\.gz$/.test(l)),
        `the archive itself was sent first:\n${proxy.log.join("\n")}`,
      );
      assert.deepEqual(await remoteNames(host.flags), [], "no archive left without its sidecar");
    } finally {
      await proxy.stop();
      await s3.stop();
      await Deno.remove(host.root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "backup upload --replace on s3://: a refused sidecar or archive leaves the old pair downloadable",
  ...opts,
  async fn() {
    const s3 = await startS3Server();
    const proxy = startFaultProxy(s3.endpoint);
    const yaml = s3Yaml(s3.url("vigo"), { ...s3.config(), endpoint: proxy.endpoint });
    const host = await makeServerRoot({ yaml: `database:\n  driver: sqlite\nbackup:\n${yaml}` });
    const downloaded = async (what: string) => {
      const dl = join(host.root, "dl", `${proxy.log.length}.tar.gz`);
      ok(await runCli(["backup", "download", "pair.tar.gz", "-o", dl, ...host.flags]), `download ${what}`);
      return await Deno.readFile(dl);
    };
    try {
      await Deno.mkdir(join(host.root, "dl"));
      const oldPath = await createLocal(host, join(host.root, "snapshots", "pair.tar.gz"));
      ok(await runCli(["backup", "upload", oldPath, ...host.flags]), "first upload");
      await Deno.writeTextFile(join(host.root, "stacks", "added.yaml"), "a: 1\n");
      await Deno.mkdir(join(host.root, "next"));
      const newPath = await createLocal(host, join(host.root, "next", "pair.tar.gz"));
      const oldBytes = await Deno.readFile(oldPath);
      const newBytes = await Deno.readFile(newPath);
      assert.notDeepEqual(newBytes, oldBytes);

      // The new sidecar refused: nothing stored was touched.
      proxy.refuse(/^PUT .*\/archives\/pair\.tar\.gz\.sha256$/);
      const sidecarRefused = await runCli(["backup", "upload", newPath, "--replace", ...host.flags]);
      assert.equal(sidecarRefused.code, 7, sidecarRefused.stderr);
      assert.match(sidecarRefused.stderr, /pair\.tar\.gz\.sha256/);
      assert.deepEqual(await downloaded("after a refused sidecar"), oldBytes);

      // The new archive refused after the new sidecar was stored: the old sidecar is put back.
      proxy.refuse(/^PUT .*\/archives\/pair\.tar\.gz$/);
      const from = proxy.log.length;
      const archiveRefused = await runCli(["backup", "upload", newPath, "--replace", ...host.flags]);
      assert.equal(archiveRefused.code, 7, archiveRefused.stderr);
      const puts = proxy.log.slice(from).filter((l) => l.startsWith("PUT "));
      assert.equal(puts.filter((l) => l.endsWith(".sha256")).length, 2, puts.join("\n"));
      assert.deepEqual(await downloaded("after a refused archive"), oldBytes);

      proxy.refuse(/(?!)/);
      ok(await runCli(["backup", "upload", newPath, "--replace", ...host.flags]), "replace");
      assert.deepEqual(await downloaded("after the replace"), newBytes);
    } finally {
      await proxy.stop();
      await s3.stop();
      await Deno.remove(host.root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "backup upload on sftp://: the rename's answer lost, the retry finds its own archive and stores the sidecar",
  ...opts,
  async fn() {
    const marker = join(await Deno.makeTempDir({ prefix: "vigo-lose-" }), "lost");
    const relay = new URL("./lose_rename_answer.py", import.meta.url).pathname;
    const sshd = await startSshd([`ForceCommand ${relay} ${marker}`]);
    const host = await makeServerRoot({
      yaml: `database:\n  driver: sqlite\nbackup:\n  url: ${sshd.url("vigo")}\n` +
        `  key_path: ${sshd.clientKey}\n  known_hosts_path: ${sshd.knownHosts}\n`,
    });
    try {
      const path = await createLocal(host, join(host.root, "snapshots", "lost.tar.gz"));
      const r = await runCli(["backup", "upload", path, ...host.flags]);
      assert.ok(await exists(marker), "the rename's answer was dropped");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /connection lost/);
      const dl = join(host.root, "dl.tar.gz");
      ok(await runCli(["backup", "download", "lost.tar.gz", "-o", dl, ...host.flags]), "download");
      assert.deepEqual(await Deno.readFile(dl), await Deno.readFile(path));
    } finally {
      await sshd.cleanup();
      await Deno.remove(host.root, { recursive: true }).catch(() => {});
      await Deno.remove(dirname(marker), { recursive: true }).catch(() => {});
    }
  },
});

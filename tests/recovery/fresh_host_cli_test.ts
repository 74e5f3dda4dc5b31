/**
 * docs/guide/disaster-recovery.md, performed literally: the old server backs up to S3 (archive made
 * with --exclude-master-key, uploaded; continuous replication) and its archive also sits on an SFTP
 * host; the server is then destroyed. On the "new host" only the CLI runs, with an empty HOME and an
 * empty environment, into an empty root: credentials come from a --credentials-file or the standard
 * environment variables (the old server.yaml's `secret:` values cannot be read: the store's key was
 * kept apart), and the master key is put back with --master-key.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { startSshd } from "../helpers/sshd.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { SecretStore } from "../../lib/secrets/secret_store.ts";
import { loadServerConfig } from "../../lib/config/server_yaml.ts";
import { Replicator } from "../../lib/replicate/replicator.ts";

/**
 * `vigocli ARGS` with nothing from this process's environment but what running from sources needs, and
 * AWS_EC2_METADATA_DISABLED: this machine is no EC2 instance, and the S3 chain's last source would
 * otherwise wait for a metadata service that is not there.
 */
function onNewHost(args: string[], home: string, env: Record<string, string> = {}): Promise<CliResult> {
  const fromSources = Deno.env.get("VIGOCLI_BIN") === undefined;
  const denoDir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
  return runCli(args, {
    clearEnv: true,
    env: { HOME: home, ...(fromSources ? { DENO_DIR: denoDir } : {}), ...env },
    cwd: home,
  });
}

Deno.test("disaster recovery on a fresh host: S3, SFTP and replica, secrets unreadable, master key apart", async () => {
  const base = Deno.makeTempDirSync({ prefix: "vigo-dr-" });
  const s3 = await startS3Server();
  const sshd = await startSshd();
  try {
    // --- The old server, as it ran before the disaster. ---
    const old = join(base, "old-srv");
    for (const d of ["db", "stacks/roles", "tls"]) mkdirSync(join(old, d), { recursive: true });
    writeFileSync(join(old, "stacks/roles/web.yaml"), "name: web\n");
    writeFileSync(join(old, "tls/server.pem"), "pem\n");
    const store = new SecretStore(old);
    const enc = new TextEncoder();
    await store.set("vigo/backup/aws_access_key", enc.encode(s3.accessKeyId));
    await store.set("vigo/backup/aws_secret_key", enc.encode(s3.secretAccessKey));
    writeFileSync(
      join(old, "server.yaml"),
      [
        "database:",
        "  path: db/vigo.db",
        "backup:",
        `  url: ${s3.url("vigo")}`,
        `  endpoint: ${s3.endpoint}`,
        "  region: us-east-1",
        "  force_path_style: true",
        "  sync_interval: 200ms",
        '  access_key_id: "secret:vigo/backup/aws_access_key"',
        '  secret_access_key: "secret:vigo/backup/aws_secret_key"',
        "",
      ].join("\n"),
    );
    const db = join(old, "db/vigo.db");
    await sqliteQuery(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(v); INSERT INTO t VALUES (1), (2);");
    const created = await runCli([
      "backup",
      "create",
      "--upload",
      "--exclude-master-key",
      "--json",
      "--server-root",
      old,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const { path: archive, upload, excluded } = JSON.parse(created.stdout);
    assert.deepEqual(excluded, ["secrets/.master.key"]);
    const s3Archive = `${upload.url.replace(/\/+$/, "")}/${upload.key}`;
    const sftpDir = join(sshd.dataDir, "vigo", "archives");
    mkdirSync(sftpDir, { recursive: true });
    for (const f of [archive, `${archive}.sha256`]) copyFileSync(f, join(sftpDir, basename(f)));
    const replicator = new Replicator({
      dbPath: db,
      backup: (await loadServerConfig(join(old, "server.yaml"), old)).backup,
      log: () => {},
    });
    await replicator.start();
    await sqliteQuery(db, "INSERT INTO t VALUES (3);"); // after the archive: only the replica has it
    await new Promise((r) => setTimeout(r, 1000));
    await replicator.stop();

    // The password manager / USB stick: the master key and the backend credentials.
    const usb = join(base, "usb");
    mkdirSync(usb);
    copyFileSync(join(old, "secrets/.master.key"), join(usb, "master.key"));
    const s3Creds = join(usb, "s3.ini");
    writeFileSync(
      s3Creds,
      `[vigo]\naccess_key_id = ${s3.accessKeyId}\nsecret_access_key = ${s3.secretAccessKey}\n` +
        `endpoint = ${s3.endpoint}\nregion = us-east-1\nforce_path_style = true\n`,
      { mode: 0o600 },
    );
    const sftpCreds = join(usb, "sftp.yaml");
    writeFileSync(sftpCreds, `key_path: ${sshd.clientKey}\nknown_hosts_path: ${sshd.knownHosts}\n`, {
      mode: 0o600,
    });
    const masterKey = readFileSync(join(old, "secrets/.master.key"), "utf8");
    rmSync(old, { recursive: true }); // the server is lost

    // --- The new host: empty HOME, empty environment, empty root. ---
    const home = join(base, "home");
    const root = join(base, "srv");
    mkdirSync(home);
    mkdirSync(root);

    const noCreds = await onNewHost(["backup", "restore", s3Archive, "--target", root], home);
    assert.equal(noCreds.code, 3, noCreds.stderr);
    assert.match(
      noCreds.stderr,
      /no credentials: .* does not exist; tried .*LITESTREAM_ACCESS_KEY_ID.*--credentials-file FILE/,
    );

    const restored = await onNewHost(
      ["backup", "restore", s3Archive, "--target", root, "--credentials-file", s3Creds],
      home,
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, /made with --exclude-master-key: .*\.master\.key is missing/);
    assert.ok(!existsSync(join(root, "secrets/.master.key")));
    assert.equal(await sqliteQuery(join(root, "db/vigo.db"), "SELECT count(*) FROM t"), "2");

    // The restored server.yaml names secrets its store cannot decrypt yet.
    const replicaOut = join(base, "replica.db");
    const noKey = await onNewHost(
      ["backup", "replica", "restore", "-o", replicaOut, "--server-root", root],
      home,
    );
    assert.equal(noKey.code, 3, noKey.stderr);
    assert.match(noKey.stderr, /backup\.access_key_id: cannot resolve secret "vigo\/backup\/aws_access_key"/);
    assert.match(
      noKey.stderr,
      /LITESTREAM_ACCESS_KEY_ID\/LITESTREAM_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID.*--credentials-file FILE/,
    );
    const viaEnv = await onNewHost(
      ["backup", "replica", "restore", "-o", replicaOut, "--server-root", root],
      home,
      { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey },
    );
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(await sqliteQuery(replicaOut, "SELECT count(*) FROM t"), "3");

    // The master key back from the password manager: secrets resolve again, no fallbacks needed.
    const withKey = await onNewHost(
      [
        "backup",
        "restore",
        s3Archive,
        "--target",
        root,
        "--credentials-file",
        s3Creds,
        "--master-key",
        join(usb, "master.key"),
      ],
      home,
    );
    assert.equal(withKey.code, 0, withKey.stderr);
    assert.equal(readFileSync(join(root, "secrets/.master.key"), "utf8"), masterKey);
    const listed = await onNewHost(["backup", "replica", "list", "--json", "--server-root", root], home);
    assert.equal(listed.code, 0, listed.stderr);

    // The same archive from the SFTP host, key and known_hosts from the credentials file.
    const root2 = join(base, "srv2");
    const sftp = await onNewHost(
      [
        "backup",
        "restore",
        `${sshd.url("vigo")}/archives/${basename(archive)}`,
        "--target",
        root2,
        "--credentials-file",
        sftpCreds,
        "--master-key",
        join(usb, "master.key"),
      ],
      home,
    );
    assert.equal(sftp.code, 0, sftp.stderr);
    assert.equal(await sqliteQuery(join(root2, "db/vigo.db"), "SELECT count(*) FROM t"), "2");
    assert.equal(readFileSync(join(root2, "secrets/.master.key"), "utf8"), masterKey);
  } finally {
    await sshd.cleanup();
    await s3.stop();
    rmSync(base, { recursive: true, force: true });
  }
});

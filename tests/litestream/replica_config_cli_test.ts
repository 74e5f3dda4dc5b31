/**
 * `vigocli backup replica litestream-config` and `--server-yaml` sourcing: the generated
 * litestream.yml is accepted by the real Litestream, drives a real `litestream replicate`, and
 * `replica restore --server-yaml` (no --url) restores what it replicated.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { LITESTREAM } from "../helpers/tools.ts";
import { rowIds, sleep, startLitestreamReplicate, startSqliteWriter } from "../helpers/litestream.ts";
import { STORED_SECRET_KEY } from "../helpers/test_secrets.ts";

async function serverTree(backup: string): Promise<{ root: string; yaml: string }> {
  const root = await Deno.makeTempDir({ prefix: "vigo-replica-cfg-" });
  await Deno.mkdir(`${root}/db`);
  const yaml = `${root}/server.yaml`;
  await Deno.writeTextFile(yaml, `database:\n  driver: sqlite\n  path: db/vigo.db\nbackup:\n${backup}`);
  return { root, yaml };
}

Deno.test("litestream-config: s3 section with secret: keys → env references, or values with --with-secrets", async () => {
  const { root, yaml } = await serverTree(
    '  url: s3://my-bucket/vigo/backup\n  access_key_id: "secret:vigo/backup/ak"\n' +
      '  secret_access_key: "secret:vigo/backup/sk"\n  region: us-east-1\n' +
      "  endpoint: https://minio.internal:9000\n  force_path_style: true\n  sync_interval: 2s\n",
  );
  try {
    const flags = ["--server-yaml", yaml, "--server-root", root];
    for (const [name, value] of [["vigo/backup/ak", "AKIDEXAMPLE"], ["vigo/backup/sk", STORED_SECRET_KEY]]) {
      const set = await runCli(["secret", "set", name, "--server-root", root], { stdin: value });
      assertEquals(set.code, 0, set.stderr);
    }
    const plain = await runCli(["backup", "replica", "litestream-config", ...flags]);
    assertEquals(plain.code, 0, plain.stderr);
    for (
      const line of [
        `  - path: ${root}/db/vigo.db`,
        "      - url: s3://my-bucket/vigo/backup",
        "        access-key-id: ${LITESTREAM_ACCESS_KEY_ID}",
        "        secret-access-key: ${LITESTREAM_SECRET_ACCESS_KEY}",
        "        region: us-east-1",
        "        endpoint: https://minio.internal:9000",
        "        force-path-style: true",
        "        retention: 720h0m0s",
        "        sync-interval: 2s",
        "        snapshot-interval: 24h0m0s",
      ]
    ) assert(plain.stdout.split("\n").includes(line), `missing ${JSON.stringify(line)} in\n${plain.stdout}`);
    assert(!plain.stdout.includes("AKIDEXAMPLE") && !plain.stdout.includes("s3cr3t"));

    const secret = await runCli(["backup", "replica", "litestream-config", ...flags, "--with-secrets"]);
    assertEquals(secret.code, 0, secret.stderr);
    assert(secret.stdout.includes("access-key-id: AKIDEXAMPLE"), secret.stdout);
    assert(secret.stdout.includes(`secret-access-key: ${STORED_SECRET_KEY}`), secret.stdout);

    // The real Litestream parses it (databases lists the replica without connecting).
    await Deno.writeTextFile(`${root}/litestream.yml`, plain.stdout);
    const ls = await new Deno.Command(LITESTREAM, {
      args: ["databases", "-config", `${root}/litestream.yml`],
      env: { LITESTREAM_ACCESS_KEY_ID: "x", LITESTREAM_SECRET_ACCESS_KEY: "y" },
    }).output();
    assertEquals(ls.code, 0, new TextDecoder().decode(ls.stderr));
    assert(new TextDecoder().decode(ls.stdout).includes(`${root}/db/vigo.db`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("litestream-config: gcs says Litestream needs ADC, and warns that HMAC keys and endpoint are left out", async () => {
  const { root, yaml } = await serverTree(
    '  url: gcs://my-bucket/vigo\n  access_key_id: "secret:vigo/backup/ak"\n' +
      '  secret_access_key: "secret:vigo/backup/sk"\n  endpoint: https://gcs.internal:4443\n',
  );
  try {
    const flags = ["--server-yaml", yaml, "--server-root", root];
    for (
      const [name, value] of [["vigo/backup/ak", "GOOGHMACKEYID"], ["vigo/backup/sk", STORED_SECRET_KEY]]
    ) {
      const set = await runCli(["secret", "set", name, "--server-root", root], { stdin: value });
      assertEquals(set.code, 0, set.stderr);
    }
    for (const extra of [[], ["--with-secrets"]]) {
      const r = await runCli(["backup", "replica", "litestream-config", ...flags, ...extra]);
      assertEquals(r.code, 0, r.stderr);
      // Litestream v0.3.13's gcs replica reads neither these variables nor any key or endpoint field.
      assert(!r.stdout.includes("LITESTREAM_ACCESS_KEY_ID"), r.stdout);
      assert(r.stdout.includes("GOOGLE_APPLICATION_CREDENTIALS="), r.stdout);
      assert(!r.stdout.includes("GOOGHMACKEYID") && !r.stdout.includes("gcs.internal"), r.stdout);
      assert(!r.stdout.includes(STORED_SECRET_KEY) && !r.stderr.includes(STORED_SECRET_KEY));
      const warning = `vigocli: warning: ${yaml}: backup.access_key_id, backup.secret_access_key, ` +
        "backup.endpoint: left out of the litestream.yml: Litestream's gcs replica has no setting for HMAC keys";
      assert(r.stderr.split("\n").some((l) => l.startsWith(warning)), r.stderr);
      await Deno.writeTextFile(`${root}/litestream.yml`, r.stdout);
      const ls = await new Deno.Command(LITESTREAM, {
        args: ["databases", "-config", `${root}/litestream.yml`],
      }).output();
      assertEquals(ls.code, 0, new TextDecoder().decode(ls.stderr));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("generated config drives litestream replicate; replica restore/list --server-yaml restore it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-replica-cfg-" });
  const { root, yaml } = await serverTree(`  url: file://${dir}/replica\n  sync_interval: 100ms\n`);
  try {
    const flags = ["--server-yaml", yaml, "--server-root", root];
    const cfg = await runCli(["backup", "replica", "litestream-config", ...flags]);
    assertEquals(cfg.code, 0, cfg.stderr);
    await Deno.writeTextFile(`${root}/litestream.yml`, cfg.stdout);
    const db = `${root}/db/vigo.db`;
    const writer = startSqliteWriter(db, { maxTx: 200, txPerSecond: 200 });
    assertEquals(await writer.wait(), 0, writer.output());
    const ls = startLitestreamReplicate(`${root}/litestream.yml`);
    try {
      await ls.waitFor(/wal segment written/, 30_000);
      await sleep(1_000);
    } finally {
      await ls.stop("SIGTERM");
    }
    const list = await runCli(["backup", "replica", "list", ...flags]);
    assertEquals(list.code, 0, list.stderr);
    assert(/generation [0-9a-f]{16} {2}\(latest/.test(list.stdout), list.stdout);
    const out = `${dir}/restored.db`;
    const res = await runCli(["backup", "replica", "restore", ...flags, "-o", out]);
    assertEquals(res.code, 0, res.stderr);
    assertEquals(await rowIds(out), Array.from({ length: 200 }, (_, i) => i + 1));
    const noBackup = await serverTree("");
    await Deno.writeTextFile(noBackup.yaml, "database:\n  driver: sqlite\n");
    const missing = await runCli([
      "backup",
      "replica",
      "restore",
      "--server-yaml",
      noBackup.yaml,
      "--server-root",
      noBackup.root,
      "-o",
      `${dir}/x.db`,
    ]);
    assertEquals(missing.code, 3, missing.stderr);
    await Deno.remove(noBackup.root, { recursive: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

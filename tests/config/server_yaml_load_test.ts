import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../lib/errors.ts";
import { loadServerConfig, requireSqlite } from "../../lib/config/server_yaml.ts";
import { SecretStore } from "../../lib/secrets/secret_store.ts";

const enc = new TextEncoder();

async function serverRoot(yaml: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "vigo-config-" });
  await Deno.writeTextFile(join(root, "server.yaml"), yaml);
  return root;
}

const S3_YAML = `backup:
  url: s3://my-bucket/vigo/backup
  access_key_id: "secret:vigo/backup/aws_access_key"
  secret_access_key: "secret:vigo/backup/aws_secret_key"
  region: us-east-1
`;

Deno.test("loadServerConfig: secret: values are resolved from the encrypted store", async () => {
  const root = await serverRoot(S3_YAML);
  const store = new SecretStore(root);
  await store.set("vigo/backup/aws_access_key", enc.encode("AKIAEXAMPLE"));
  await store.set("vigo/backup/aws_secret_key", enc.encode("wJalrXUtnFEMI/K7MDENG"));
  const cfg = await loadServerConfig(join(root, "server.yaml"), root);
  assert.deepEqual(cfg.backup?.destination, {
    scheme: "s3",
    accessKeyId: "AKIAEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG",
    region: "us-east-1",
    endpoint: undefined,
    forcePathStyle: false,
  });
  assert.equal(cfg.serverRoot, root);
  assert.equal(cfg.database.path, join(root, "db/vigo.db"));
  assert.deepEqual(cfg.warnings, []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadServerConfig: a missing secret names the key and the secret; 'skip' leaves the reference", async () => {
  const root = await serverRoot(S3_YAML);
  await new SecretStore(root).set("vigo/backup/aws_access_key", enc.encode("AKIAEXAMPLE"));
  const yamlPath = join(root, "server.yaml");
  await assert.rejects(() => loadServerConfig(yamlPath, root), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(
      err.message,
      /server.yaml: backup.secret_access_key: cannot resolve secret "vigo\/backup\/aws_secret_key" \(line 4\): .*no such secret/,
    );
    assert.ok(!err.message.includes("AKIAEXAMPLE"));
    return true;
  });
  const cfg = await loadServerConfig(yamlPath, root, { secrets: "skip" });
  const d = cfg.backup?.destination;
  assert.equal(d?.scheme === "s3" && d.secretAccessKey, "secret:vigo/backup/aws_secret_key");
  // A wrong master key put back: the line says what to do (put the right one back, or move it away).
  await new SecretStore(root).set("vigo/backup/aws_secret_key", enc.encode("wJalrXUtnFEMI/K7MDENG"));
  const keyPath = join(root, "secrets/.master.key");
  await Deno.remove(keyPath);
  await new SecretStore(root).set("other", enc.encode("x"), { newMasterKey: true });
  await assert.rejects(() => loadServerConfig(yamlPath, root), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(
      err.message,
      /different master key .*; put back the key that sealed it, or move .*\.master\.key away/,
    );
    return true;
  });
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadServerConfig: a tampered secret or a foreign master key is a ConfigError naming the secret, not the value", async () => {
  const root = await serverRoot(S3_YAML);
  const store = new SecretStore(root);
  await store.set("vigo/backup/aws_access_key", enc.encode("AKIAEXAMPLE"));
  await store.set("vigo/backup/aws_secret_key", enc.encode("topsecretvalue"));
  const file = join(root, "secrets/vigo/backup/aws_secret_key");
  const bytes = await Deno.readFile(file);
  bytes[bytes.length - 1] ^= 1;
  await Deno.writeFile(file, bytes);
  await assert.rejects(
    () => loadServerConfig(join(root, "server.yaml"), root),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        /backup.secret_access_key: cannot resolve secret "vigo\/backup\/aws_secret_key".*authentication failed/,
      );
      assert.ok(err.message.includes(file));
      assert.ok(!err.message.includes("topsecretvalue"));
      return true;
    },
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadServerConfig: missing server.yaml names the path", async () => {
  const root = await Deno.makeTempDir();
  const p = join(root, "server.yaml");
  await assert.rejects(() => loadServerConfig(p, root), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `${p}: server.yaml not found`);
    assert.equal(err.exitCode, 3);
    return true;
  });
  await Deno.remove(root, { recursive: true });
});

// root reads any file, so this only runs unprivileged (the CLI variant in tests/secrets drops to nobody).
Deno.test({
  name: "loadServerConfig: unreadable server.yaml is an IoError naming the path",
  ignore: Deno.uid() === 0,
}, async () => {
  const root = await serverRoot("database:\n  driver: sqlite\n");
  const p = join(root, "server.yaml");
  await Deno.chmod(p, 0o000);
  await assert.rejects(
    () => loadServerConfig(p, root),
    new RegExp(`^${p}: permission denied$`),
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadServerConfig: relative root and yaml paths become absolute", async () => {
  const root = await serverRoot("paths:\n  snapshots: snaps\n");
  const cwd = Deno.cwd();
  Deno.chdir(root);
  try {
    const cfg = await loadServerConfig("server.yaml", ".");
    assert.equal(cfg.serverYamlPath, join(root, "server.yaml"));
    assert.equal(cfg.paths.snapshots, join(root, "snaps"));
  } finally {
    Deno.chdir(cwd);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("requireSqlite: postgres is refused with a pointer to PostgreSQL's own tools", async () => {
  const root = await serverRoot("database:\n  driver: postgres\n");
  const cfg = await loadServerConfig(join(root, "server.yaml"), root);
  assert.throws(() => requireSqlite(cfg), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(
      err.message,
      /database.driver is "postgres".*PostgreSQL deployments are backed up with PostgreSQL's own tools/,
    );
    return true;
  });
  const ok = await loadServerConfig(join(root, "server.yaml"), root).then((c) => ({
    ...c,
    database: { ...c.database, driver: "sqlite" as const },
  }));
  requireSqlite(ok);
  await Deno.remove(root, { recursive: true });
});

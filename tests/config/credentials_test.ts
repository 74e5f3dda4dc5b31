/**
 * Fresh-host credentials: the --credentials-file format, the environment fallbacks, and how
 * loadServerConfig uses them when server.yaml's `secret:` values cannot be read (no secrets store).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  applyCredentialSources,
  credentialsFromEnv,
  parseCredentialsFile,
} from "../../lib/config/credentials.ts";
import { loadServerConfig } from "../../lib/config/server_yaml.ts";
import { BACKUP_DEFAULTS } from "../../lib/config/server_yaml_parse.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("credentials file: YAML-like and INI-like lines, quotes, comments; bad lines name the line", () => {
  const text = [
    "# from the password manager",
    "[vigo]",
    "access_key_id: AKIAEXAMPLE",
    'secret_access_key = "s3cr3t:with=signs"',
    "; sftp",
    "key_path: '/media/usb/id_ed25519'",
    "force_path_style = true",
    "",
  ].join("\n");
  assert.deepEqual(parseCredentialsFile(text, "c.ini"), {
    accessKeyId: "AKIAEXAMPLE",
    secretAccessKey: "s3cr3t:with=signs",
    keyPath: "/media/usb/id_ed25519",
    forcePathStyle: true,
  });
  assert.throws(() => parseCredentialsFile("aws_key: x\n", "c.ini"), /c\.ini: line 1: unknown key "aws_key"/);
  assert.throws(() => parseCredentialsFile("ok\n", "c.ini"), /c\.ini: line 1: expected "key: value"/);
  assert.throws(() => parseCredentialsFile("\n\nregion:\n", "c.ini"), /line 3: region: empty value/);
});

Deno.test("environment: AWS_* before LITESTREAM_*; LITESTREAM_* fill an s3 backup without keys", () => {
  assert.deepEqual(
    credentialsFromEnv({
      AWS_ACCESS_KEY_ID: "a",
      LITESTREAM_ACCESS_KEY_ID: "l",
      LITESTREAM_SECRET_ACCESS_KEY: "ls",
    }),
    { accessKeyId: "a", secretAccessKey: "ls" },
  );
  const env = credentialsFromEnv({ LITESTREAM_ACCESS_KEY_ID: "l", LITESTREAM_SECRET_ACCESS_KEY: "ls" });
  const s3 = applyCredentialSources({ url: "s3://b/p", ...BACKUP_DEFAULTS }, { env });
  assert.equal(s3.accessKeyId, "l");
  const sftp = applyCredentialSources({ url: "sftp://h/p", ...BACKUP_DEFAULTS }, { env });
  assert.equal(sftp.accessKeyId, undefined);
});

Deno.test("server.yaml secret: refs without a secrets store: env or file supply them, else exit 3 naming both", async () => {
  const root = mkdtempSync(join(tmpdir(), "vigo-creds-"));
  try {
    writeFileSync(
      join(root, "server.yaml"),
      [
        "backup:",
        "  url: s3://bucket/vigo",
        '  access_key_id: "secret:vigo/backup/aws_access_key"',
        '  secret_access_key: "secret:vigo/backup/aws_secret_key"',
        "",
      ].join("\n"),
    );
    const yaml = join(root, "server.yaml");
    await assert.rejects(
      () => loadServerConfig(yaml, root, { credentials: { env: {} } }),
      (err: unknown) =>
        err instanceof ConfigError && err.exitCode === 3 &&
        /backup\.access_key_id: cannot resolve secret "vigo\/backup\/aws_access_key"/.test(err.message) &&
        /AWS_ACCESS_KEY_ID or LITESTREAM_ACCESS_KEY_ID .*--credentials-file FILE with access_key_id/.test(
          err.message,
        ),
    );
    const fromEnv = await loadServerConfig(yaml, root, {
      credentials: { env: { accessKeyId: "id", secretAccessKey: "key" } },
    });
    assert.deepEqual([fromEnv.backup?.accessKeyId, fromEnv.backup?.secretAccessKey], ["id", "key"]);
    const fromFile = await loadServerConfig(yaml, root, {
      credentials: {
        file: {
          path: "c",
          values: { accessKeyId: "fid", secretAccessKey: "fkey", endpoint: "http://127.0.0.1:9" },
        },
        env: { accessKeyId: "id", secretAccessKey: "key" },
      },
    });
    assert.deepEqual(
      [fromFile.backup?.accessKeyId, fromFile.backup?.secretAccessKey, fromFile.backup?.endpoint],
      ["fid", "fkey", "http://127.0.0.1:9"],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

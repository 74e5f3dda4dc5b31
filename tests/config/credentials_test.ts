/**
 * Fresh-host credentials: the --credentials-file format, and what happens when server.yaml's `secret:`
 * values cannot be read (no secrets store): S3 falls through to its credential chain (the file first,
 * then the environment) and says why when nothing has keys; SFTP needs the file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyCredentialSources, parseCredentialsFile } from "../../lib/config/credentials.ts";
import { resolveS3Settings } from "../../lib/backend/s3/config.ts";
import { loadServerConfig } from "../../lib/config/server_yaml.ts";
import {
  defaultDestination,
  type GcsConfig,
  type S3Config,
  type SftpBackupConfig,
} from "../../lib/backends.ts";
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

Deno.test("credentials file: # and ; start an inline comment only after whitespace, as in AWS shared files", () => {
  const text = [
    "[vigo]  # USB copy",
    "access_key_id = AKIA#NOCOMMENT;EITHER",
    "secret_access_key: 'quoted # kept ; too'   # but this goes",
    "endpoint = https://s3.eu-central-1.amazonaws.com   # only for S3-compatible servers",
    "region = eu-central-1\t; frankfurt",
    "force_path_style = false # default",
    "",
  ].join("\n");
  assert.deepEqual(parseCredentialsFile(text, "c.ini"), {
    accessKeyId: "AKIA#NOCOMMENT;EITHER",
    secretAccessKey: "quoted # kept ; too",
    endpoint: "https://s3.eu-central-1.amazonaws.com",
    region: "eu-central-1",
    forcePathStyle: false,
  });
  assert.equal(parseCredentialsFile("password=#starts-with-hash\n", "c.ini").password, "#starts-with-hash");
  assert.throws(() => parseCredentialsFile("region = # later\n", "c.ini"), /line 1: region: empty value/);
});

Deno.test("credentials file: S3 keys become the chain's first source; options the backend reads override", () => {
  const file = {
    path: "/usb/c.ini",
    values: {
      accessKeyId: "fid",
      secretAccessKey: "fkey",
      endpoint: "http://127.0.0.1:9",
      keyPath: "/usb/k",
    },
  };
  const yamlS3 = { ...defaultDestination("s3://b/p"), accessKeyId: "yaml", secretAccessKey: "yamls" };
  const s3 = applyCredentialSources("s3://b/p", yamlS3, { file }) as S3Config;
  assert.deepEqual(s3.credentialsFile, { path: "/usb/c.ini", accessKeyId: "fid", secretAccessKey: "fkey" });
  assert.equal(s3.accessKeyId, "yaml");
  assert.equal(s3.endpoint, "http://127.0.0.1:9");
  assert.equal((s3 as { keyPath?: string }).keyPath, undefined, "an sftp option does not leak into s3");
  const gcs = applyCredentialSources("gcs://b/p", defaultDestination("gcs://b/p"), { file }) as GcsConfig;
  assert.deepEqual([gcs.accessKeyId, (gcs as { credentialsFile?: unknown }).credentialsFile], [
    "fid",
    undefined,
  ]);
  const sftp = applyCredentialSources("sftp://h/p", defaultDestination("sftp://h/p"), {
    file,
  }) as SftpBackupConfig;
  assert.equal(sftp.keyPath, "/usb/k");
  assert.equal(parseCredentialsFile("key_path: keys/id\n", "/usb/c.ini").keyPath, "/usb/keys/id");
  assert.equal(parseCredentialsFile("key_path: ~/id\n", "/usb/c.ini", "/home/op").keyPath, "/home/op/id");
});

Deno.test("secret: refs without a secrets store: S3 defers to the chain with the reason, SFTP fails at once", async () => {
  const root = mkdtempSync(join(tmpdir(), "vigo-creds-"));
  try {
    const yaml = join(root, "server.yaml");
    writeFileSync(
      yaml,
      [
        "backup:",
        "  url: s3://bucket/vigo",
        "  endpoint: http://127.0.0.1:9",
        '  access_key_id: "secret:vigo/backup/aws_access_key"',
        '  secret_access_key: "secret:vigo/backup/aws_secret_key"',
        "",
      ].join("\n"),
    );
    const cfg = await loadServerConfig(yaml, root);
    const backup = cfg.backup!;
    const dest = backup.destination as S3Config;
    assert.deepEqual([dest.accessKeyId, dest.secretAccessKey], [undefined, undefined]);
    const s = resolveS3Settings(backup.url, dest, { AWS_EC2_METADATA_DISABLED: "true", HOME: root });
    await assert.rejects(
      () => s.credentials(),
      (err: unknown) =>
        err instanceof ConfigError && err.exitCode === 3 &&
        /no credentials: .*backup\.access_key_id: cannot resolve secret "vigo\/backup\/aws_access_key"/
          .test(
            err.message,
          ) &&
        /LITESTREAM_ACCESS_KEY_ID\/LITESTREAM_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID.*--credentials-file FILE/
          .test(
            err.message,
          ),
    );
    const viaEnv = resolveS3Settings(backup.url, dest, {
      LITESTREAM_ACCESS_KEY_ID: "l",
      LITESTREAM_SECRET_ACCESS_KEY: "s",
    });
    assert.equal((await viaEnv.credentials()).accessKeyId, "l");
    const withFile = await loadServerConfig(yaml, root, {
      credentials: { file: { path: "c", values: { accessKeyId: "fid", secretAccessKey: "fkey" } } },
    });
    const viaFile = resolveS3Settings(withFile.backup!.url, withFile.backup!.destination as S3Config, {
      LITESTREAM_ACCESS_KEY_ID: "l",
      LITESTREAM_SECRET_ACCESS_KEY: "s",
    });
    assert.equal((await viaFile.credentials()).accessKeyId, "fid");

    writeFileSync(yaml, 'backup:\n  url: sftp://u@host/p\n  password: "secret:vigo/backup/sftp"\n');
    await assert.rejects(
      () => loadServerConfig(yaml, root),
      /backup\.password: cannot resolve secret "vigo\/backup\/sftp".*give --credentials-file FILE with password/,
    );
    const keyed = await loadServerConfig(yaml, root, {
      credentials: { file: { path: "c", values: { keyPath: "/k" } } },
    });
    const sftp = keyed.backup?.destination as SftpBackupConfig;
    assert.deepEqual([sftp.password, sftp.keyPath], [undefined, "/k"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

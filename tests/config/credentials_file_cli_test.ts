/**
 * A --credentials-file written as docs/guide/disaster-recovery.md shows it, inline comments included,
 * against the SigV4-checking S3 server: a comment left inside the endpoint is exit 3, one left inside
 * the region signs for the wrong region (exit 7), and a `#` inside the secret must stay in it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { S3_SECRET_WITH_HASH } from "../helpers/test_secrets.ts";

Deno.test("credentials file: inline comments after whitespace are dropped, a # inside a secret is kept", async () => {
  const s3 = await startS3Server({ secretAccessKey: S3_SECRET_WITH_HASH });
  const dir = await Deno.makeTempDir({ prefix: "vigo-creds-cli-" });
  try {
    const file = join(dir, "s3.ini");
    await Deno.writeTextFile(
      file,
      [
        "# S3 (or GCS HMAC keys)",
        "[vigo]",
        `access_key_id = ${s3.accessKeyId}`,
        `secret_access_key = ${s3.secretAccessKey}`,
        `endpoint = ${s3.endpoint}   # only for S3-compatible servers`,
        "region = us-east-1  ; the test server's",
        "force_path_style = true",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    const r = await runCli(
      ["backup", "list", "--remote", "--json", "--url", s3.url("vigo"), "--credentials-file", file],
      { env: { HOME: dir, AWS_EC2_METADATA_DISABLED: "true" } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  } finally {
    await s3.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

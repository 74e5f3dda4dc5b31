/**
 * The children vigocli starts for a secret of its own (an AWS profile's `credential_process`, a
 * `--password-command`) are started without the secret variables (lib/secrets/child_env.ts): each
 * child here only says whether VIGO_BACKUP_PASSWORD / LITESTREAM_SECRET_ACCESS_KEY reached it, never
 * their values. In-process: the children inherit this test's own environment.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { obtainPassword } from "../../lib/cli/password.ts";
import { profileSource } from "../../lib/backend/s3/credentials/aws_profile.ts";

/** A shell snippet printing `leaked` when any secret variable is set in its environment, else `clean`. */
const PROBE =
  `if [ -n "$VIGO_BACKUP_PASSWORD$LITESTREAM_SECRET_ACCESS_KEY" ]; then w=leaked; else w=clean; fi`;
/** Not a real secret: a value only this test sets, so that its presence is what is checked. */
const DUMMY = "child-env-probe-value";

async function withSecretEnv<T>(run: () => Promise<T>): Promise<T> {
  Deno.env.set("VIGO_BACKUP_PASSWORD", DUMMY);
  Deno.env.set("LITESTREAM_SECRET_ACCESS_KEY", DUMMY);
  try {
    return await run();
  } finally {
    Deno.env.delete("VIGO_BACKUP_PASSWORD");
    Deno.env.delete("LITESTREAM_SECRET_ACCESS_KEY");
  }
}

Deno.test("--password-command runs without the secret variables", async () => {
  const pw = await withSecretEnv(() =>
    obtainPassword({ confirm: false, passwordCommand: `sh -c '${PROBE}; echo "$w"'` })
  );
  assert.equal(pw, "clean");
});

Deno.test("an AWS profile's credential_process runs without the secret variables", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-credproc-" });
  try {
    const config = join(dir, "config");
    const json = `{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"x"}`;
    await Deno.writeTextFile(
      config,
      `[default]\ncredential_process = sh -c '${PROBE}; printf '"'"'${json}'"'"' "$w"'\n`,
    );
    const creds = await withSecretEnv(() =>
      profileSource({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(dir, "none") }).load()
    );
    assert.equal(creds?.accessKeyId, "clean");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

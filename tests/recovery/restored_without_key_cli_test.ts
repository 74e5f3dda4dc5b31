/**
 * A host restored from an archive made with --exclude-master-key, before the key is back: every command
 * that finds secrets/.master.key missing gives the same advice, in the same words, naming the file.
 * Before, the restore warning said it its own way ("until it is back (backup restore … --master-key
 * FILE, or copy it there with mode 0600)"). And secret set refuses to make a new key there, which could
 * never open the restored secrets.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const SERVER_YAML = [
  "database:",
  "  driver: sqlite",
  "backup:",
  "  url: s3://bkt/vigo",
  '  access_key_id: "secret:vigo/backup/aws_access_key"',
  '  secret_access_key: "secret:vigo/backup/aws_secret_key"',
  "",
].join("\n");

/**
 * `vigocli ARGS` with an empty HOME and environment (no AWS keys, no instance role), keeping the module
 * cache when running from sources.
 */
function bare(args: string[], home: string, stdin?: string): Promise<CliResult> {
  const fromSources = Deno.env.get("VIGOCLI_BIN") === undefined;
  const denoDir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
  return runCli(args, {
    clearEnv: true,
    env: { HOME: home, AWS_EC2_METADATA_DISABLED: "true", ...(fromSources ? { DENO_DIR: denoDir } : {}) },
    stdin,
  });
}

Deno.test("restored without its master key: restore, secret get, server.yaml's secret: and secret set give one advice", async () => {
  const fx = await makeServerRoot({ rows: 5, yaml: SERVER_YAML });
  const scratch = await Deno.makeTempDir({ prefix: "vigo-nokey-" });
  const home = join(scratch, "home");
  await Deno.mkdir(home);
  try {
    // Real secrets under a real key instead of the fixture's placeholders.
    await Deno.remove(join(fx.root, "secrets"), { recursive: true });
    for (const name of ["vigo/backup/aws_access_key", "vigo/backup/aws_secret_key"]) {
      const set = await bare(["secret", "set", name, "--server-root", fx.root], home, "v");
      assert.equal(set.code, 0, set.stderr);
    }
    const archive = join(scratch, "a.tar.gz");
    const create = await bare(["backup", "create", ...fx.flags, "--exclude-master-key", archive], home);
    assert.equal(create.code, 0, create.stderr);

    const target = join(scratch, "srv");
    const key = join(target, "secrets/.master.key");
    const advice =
      `put the old host's master key back (backup restore --master-key FILE, or copy it to ${key}, ` +
      "mode 0600)";
    const restore = await bare(["backup", "restore", archive, "--target", target], home);
    assert.equal(restore.code, 0, restore.stderr);
    assert.ok(
      restore.stderr.includes(`${key} is missing and secret: values cannot be read until you ${advice}\n`),
      restore.stderr,
    );
    assert.ok(!existsSync(key));

    const get = await bare(["secret", "get", "vigo/backup/aws_access_key", "--server-root", target], home);
    assert.equal(get.code, 9, get.stderr);
    assert.ok(
      get.stderr.startsWith(`vigocli: ${key} is missing: on a restored host ${advice}; `),
      get.stderr,
    );

    const list = await bare(["backup", "replica", "list", "--server-root", target], home);
    assert.equal(list.code, 3, list.stderr);
    assert.ok(
      list.stderr.includes(`${key} is missing; `) && list.stderr.includes(`; ${advice}, or set `),
      list.stderr,
    );

    const set = await bare(["secret", "set", "app/token", "--server-root", target], home, "t0ken");
    assert.equal(set.code, 9, set.stderr);
    assert.ok(set.stderr.includes(`that a new master key could never open: ${advice}, or give `), set.stderr);
    assert.ok(!existsSync(key), "a command made a master key");
  } finally {
    await Deno.remove(scratch, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});

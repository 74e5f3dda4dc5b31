/**
 * SFTP with no credentials anywhere (a fresh host: no server.yaml keys, no ~/.ssh keys, no agent): the
 * one line names every way to give some, --credentials-file among them, which the disaster-recovery guide
 * relies on and the line left out.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

Deno.test("sftp without any credentials: exit 3, the line names --credentials-file too", async () => {
  const home = await Deno.makeTempDir({ prefix: "vigo-sftp-nocreds-" });
  try {
    const fromSources = Deno.env.get("VIGOCLI_BIN") === undefined;
    const denoDir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
    const r = await runCli(["backup", "list", "--remote", "--url", "sftp://backup@127.0.0.1:1/srv/backups"], {
      clearEnv: true,
      env: { HOME: home, ...(fromSources ? { DENO_DIR: denoDir } : {}) },
      cwd: home,
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /no SSH credentials: .*--credentials-file FILE with key_path or password/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

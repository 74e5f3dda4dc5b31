/**
 * A regular file where an sftp:// backend keeps a directory (archives/, or the root itself), on a real
 * sshd, is said as file:// says it (tests/sftp/remote_leftovers_file_cli_test.ts): `<url>: not a
 * directory (the backend keeps one there)`, exit 11, by list --remote, prune --remote, upload and download.
 * OpenSSH answers a request below a file with NO_SUCH_FILE, so list --remote printed `[]` and prune
 * --remote nothing (exit 0), download said the archive was not found (exit 9), and upload exited 7 with
 * the bare word "Failure". A backend whose archives/ is only missing still lists nothing, exit 0.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";
import { makeServerRoot } from "../archive/fixture.ts";

Deno.test({
  name: "sftp:// backend: a file where archives/ or the root must be is exit 11, naming it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sshd = await startSshd();
    const fx = await makeServerRoot();
    try {
      const local = join(fx.root, "snapshots", "a.tar.gz");
      assert.equal((await runCli(["backup", "create", ...fx.flags, local])).code, 0);
      const yaml = join(fx.root, "sftp.yaml");
      const useRemote = (sub: string) =>
        Deno.writeTextFile(
          yaml,
          `database:\n  driver: sqlite\nbackup:\n  url: ${sshd.url(sub)}\n  key_path: ${sshd.clientKey}\n` +
            `  known_hosts_path: ${sshd.knownHosts}\n`,
        );
      const flags = ["--server-root", fx.root, "--server-yaml", yaml];
      const commands = [
        ["list", "--remote", "--json"],
        ["prune", "--remote", "--keep", "1", "--json"],
        ["upload", local],
        ["download", "a.tar.gz", "--output", join(fx.root, "dl.tar.gz")],
      ];

      await useRemote("missing");
      const empty = await runCli(["backup", "list", "--remote", "--json", ...flags]);
      assert.equal(empty.code, 0, empty.stderr);
      assert.deepEqual(JSON.parse(empty.stdout), [], "a missing archives/ is an empty backend");

      await Deno.mkdir(join(sshd.dataDir, "r1"));
      await Deno.writeTextFile(join(sshd.dataDir, "r1", "archives"), "not a directory\n");
      await Deno.writeTextFile(join(sshd.dataDir, "r2"), "not a directory\n");
      for (const [sub, blocker] of [["r1", `${sshd.url("r1")}/archives`], ["r2", sshd.url("r2")]]) {
        await useRemote(sub);
        for (const args of commands) {
          const r = await runCli(["backup", ...args, ...flags]);
          assert.equal(r.code, 11, `${sub}: ${args.join(" ")}: ${r.stderr}`);
          assert.equal(r.stderr, `vigocli: ${blocker}: not a directory (the backend keeps one there)\n`);
        }
      }
      assert.equal(await Deno.readTextFile(join(sshd.dataDir, "r2")), "not a directory\n");
    } finally {
      await sshd.cleanup();
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});

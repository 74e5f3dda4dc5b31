/**
 * A uid with no passwd entry and HOME unset (a systemd DynamicUser, a container's arbitrary uid) has no
 * home directory. The compiled CLI's os.homedir() (Bun) then throws ENOENT, which every command reading
 * server.yaml reported as "vigocli: no such file or directory", exit 9, naming no file: per-user files
 * must simply be absent, and a `~/` path that needs one must say so. Runs only as root (setpriv).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";

/** A uid the passwd database lacks, or undefined when these happen to exist. */
function uidWithoutEntry(): number | undefined {
  const uids = new Set(readFileSync("/etc/passwd", "utf8").split("\n").map((l) => Number(l.split(":")[2])));
  return [12345, 23456, 34567].find((u) => !uids.has(u));
}

Deno.test("a uid with no passwd entry and no HOME: server-reading commands work", async (t) => {
  const uid = uidWithoutEntry();
  if (Deno.uid() !== 0 || uid === undefined) {
    console.warn("skipped: needs root (setpriv) and a uid without a passwd entry");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "vigo-no-home-" });
  try {
    await Deno.chmod(dir, 0o755);
    const srv = join(dir, "srv");
    await new Deno.Command("cp", { args: ["-a", join(REPO_ROOT, "examples/srv-vigo"), srv] }).output();
    await Deno.mkdir(join(srv, "db"));
    await Deno.mkdir(join(dir, "out"));
    await sqliteQuery(
      join(srv, "db/vigo.db"),
      "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1);",
    );
    // Deno (source runs) needs a cache directory; it is not a home directory and sets no HOME.
    await Deno.mkdir(join(dir, "deno"));
    const chown = await new Deno.Command("chown", { args: ["-R", `${uid}:${uid}`, dir] }).output();
    assert.equal(chown.code, 0);
    const via = ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups"];
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DENO_DIR: join(dir, "deno") };
    const run = (...args: string[]) => runCli(args, { via, env, clearEnv: true });
    const probe = await run("--version");
    if (probe.code !== 0) {
      console.warn(`skipped: the CLI cannot run as uid ${uid} here (exit ${probe.code})`);
      return;
    }
    for (
      const args of [
        ["backup", "create", "--server-root", srv, join(dir, "out/a.tar.gz")],
        ["backup", "status", "--server-root", srv],
        ["backup", "list", "--server-root", srv],
        ["backup", "replica", "list", "--server-root", srv],
      ]
    ) {
      await t.step(args.slice(0, 3).join(" "), async () => {
        const r = await run(...args);
        assert.doesNotMatch(r.stderr, /no such file or directory/);
        assert.equal(r.code, 0, r.stderr);
      });
    }

    await t.step("a ~/ path in server.yaml names the key and why", async () => {
      const yaml = join(srv, "server.yaml");
      const text = await Deno.readTextFile(yaml);
      const sftp = "backup:\n  url: sftp://vigo@backup.example/v\n  key_path: ~/.ssh/vigo_ed25519\n";
      await Deno.writeTextFile(yaml, text.replace(/^backup:\n(?: {2}.*\n)*/m, sftp));
      const r = await run("backup", "list", "--server-root", srv);
      await Deno.writeTextFile(yaml, text);
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr,
        /server\.yaml: backup\.key_path: ~\/\.ssh\/vigo_ed25519: no home directory \(HOME is unset and uid \d+ has no passwd entry\)/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `backup status` when server.yaml's `secret:` values cannot be resolved (a store without its master
 * key): the local facts still show, and the remote archives (configured, so not null) and replication
 * name the secret problem; a server.yaml that is itself broken still fails as a configuration error.
 */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";

Deno.test("status: unresolvable secrets cost only the remote facts; a broken server.yaml is exit 3", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigo-status-secrets-" });
  try {
    await Deno.mkdir(`${root}/db`);
    await sqliteQuery(`${root}/db/vigo.db`, "PRAGMA journal_mode=WAL; CREATE TABLE t(x);");
    const yaml = `${root}/server.yaml`;
    await Deno.writeTextFile(
      yaml,
      `database:\n  driver: sqlite\n  path: ${root}/db/vigo.db\nbackup:\n  url: sftp://backup.invalid/srv\n` +
        '  password: "secret:vigo/backup/sftp_password"\n',
    );
    const r = await runCli(["backup", "status", "--json", "--server-yaml", yaml, "--server-root", root]);
    assertEquals(r.code, 0, r.stderr);
    const st = JSON.parse(r.stdout);
    assertEquals(st.archives.local.error, null);
    assertEquals(st.replication.url, "sftp://backup.invalid/srv");
    const why = /backup\.password: cannot resolve secret "vigo\/backup\/sftp_password"/;
    assertMatch(st.replication.error, why);
    // Configured but unreadable, not "not configured" (null): the remote archives say why.
    assertEquals(st.archives.remote?.where, "sftp://backup.invalid/srv/archives/");
    assertMatch(st.archives.remote.error, why);
    assertEquals([st.archives.remote.count, st.archives.remote.newest], [0, null]);
    const text = await runCli(["backup", "status", "--server-yaml", yaml, "--server-root", root]);
    assertEquals(text.code, 0, text.stderr);
    assertMatch(
      text.stdout,
      /archives {5}remote sftp:\/\/backup\.invalid\/srv\/archives\/: .*cannot resolve secret/,
    );
    // Not read, not empty: it said "0 generation(s), latest none" of a replica it could not list.
    assertMatch(
      text.stdout,
      /^replication {2}sftp:\/\/backup\.invalid\/srv: not read \(.*cannot resolve secret/m,
    );

    await Deno.writeTextFile(yaml, `database:\n  driver: sqlite\n  path: ${root}/db/vigo.db\nbackup: [\n`);
    const broken = await runCli(["backup", "status", "--json", "--server-yaml", yaml, "--server-root", root]);
    assertEquals(broken.code, 3, broken.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

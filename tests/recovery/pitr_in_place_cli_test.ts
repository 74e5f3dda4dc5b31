/**
 * docs/guide/disaster-recovery.md's step 4, run as written (its `sh` block, with this test's root for
 * /srv/vigo) to put a point-in-time restore in place over a database that went bad: the server died without
 * a checkpoint, so its -wal still holds the bad write, and SQLite replayed it onto the restored file at the
 * first open when the guide's lines left that WAL beside it (a review walking the guide read back BAD).
 */
import assert from "node:assert/strict";
import { cliCommand } from "../helpers/cli.ts";
import { createWriterDb } from "../helpers/litestream.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { killReplicators, makeRoot, startReplicate } from "../replicate/replicate_env.ts";

/** The guide's step-4 commands, for a server root at `root`. */
function stepFour(root: string): string {
  const guide = Deno.readTextFileSync(new URL("../../docs/guide/disaster-recovery.md", import.meta.url));
  const step = guide.split(/^## 4\. /m)[1];
  return /```sh\n([\s\S]*?)```/.exec(step)![1].replaceAll("/srv/vigo", root);
}

Deno.test("the guide's step 4 puts a point-in-time restore in place over a bad database, bad WAL and all", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    await sqliteQuery(r.db, "INSERT INTO t (id, ts, payload) VALUES (1, 0, 'good'), (2, 0, 'good');");
    const replicator = await startReplicate(r);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await replicator.stop("SIGTERM"), 0);
    const before = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The bad write, by a server that dies without a checkpoint: the WAL stays beside the database.
    const died = new Deno.Command("python3", {
      args: [
        "-c",
        `import sqlite3, os
c = sqlite3.connect(${JSON.stringify(r.db)}, isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("UPDATE t SET payload = 'BAD'")
os._exit(0)`,
      ],
    }).outputSync();
    assert.equal(died.code, 0, new TextDecoder().decode(died.stderr));
    assert.ok(Deno.statSync(`${r.db}-wal`).size > 0, "the bad write is in the WAL");

    const [cmd, ...pre] = cliCommand();
    const script = stepFour(r.root)
      .replace(/^vigocli (backup replica restore .*)$/m, `vigocli $1 --timestamp ${before}`)
      .replaceAll(/^vigocli /gm, "cli ");
    const run = new Deno.Command("bash", {
      args: ["-euc", `cli() { ${[cmd, ...pre].map((w) => `'${w}'`).join(" ")} "$@"; }\n${script}`],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.equal((await sqliteQuery(r.db, "SELECT group_concat(payload) FROM t")).trim(), "good,good");
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});

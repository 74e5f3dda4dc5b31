/**
 * `backup create` of a server root that a `backup restore` replaces while create runs: the archive
 * must hold one state, never the database of the old state with the trees of the new one. The create
 * is stopped (SIGSTOP) while it pins its snapshot of the database or once it holds it, the restore runs
 * (forced past the pin, as a restore that passed its busy probe just before the pin runs unforced), then
 * the create goes on. Before create compared the root's identities, it archived the old database with the new
 * trees and exited 0 (unforced: 1 in 40 create/restore pairs started together); stopped while pinning, it
 * waited out the lock timeout and exited 5 blaming commits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { makeServerRoot } from "./fixture.ts";

async function setState(root: string, db: string, state: string): Promise<void> {
  await sqliteQuery(
    db,
    `CREATE TABLE IF NOT EXISTS marker(v); DELETE FROM marker; INSERT INTO marker VALUES('${state}');`,
  );
  await Deno.writeTextFile(join(root, "stacks/roles/web.yaml"), `state: ${state}\n`);
}

/**
 * Resolves once process `pid` has `path` open `count` times: its worker's SQLite connection (the pin
 * is being taken), then the descriptor create reads the pinned image through (the pin holds).
 */
async function hasOpen(pid: number, path: string, count: number): Promise<void> {
  for (;;) {
    let open = 0;
    try {
      for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`) === path) open++;
      }
    } catch {
      // a descriptor closed while it was listed
    }
    if (open >= count) return;
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** The marker of the archived database and the state its stacks/roles/web.yaml names. */
async function archivedStates(archive: string): Promise<{ db: string; stacks: string }> {
  const dir = await Deno.makeTempDir({ prefix: "vigo-mix-" });
  try {
    const tar = await new Deno.Command("tar", {
      args: ["xzf", archive, "-C", dir, "db/vigo.db", "stacks/roles/web.yaml"],
    }).output();
    assert.equal(tar.code, 0, new TextDecoder().decode(tar.stderr));
    return {
      db: await sqliteQuery(join(dir, "db/vigo.db"), "SELECT v FROM marker"),
      stacks: (await Deno.readTextFile(join(dir, "stacks/roles/web.yaml"))).trim().replace("state: ", ""),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const LOCK_TIMEOUT_S = 120;

for (
  const [when, opened] of [["once its snapshot is pinned", 2], ["while it pins its snapshot", 1]] as const
) {
  Deno.test(`create stopped ${when}, a restore replaces the root: the archive holds one state`, async () => {
    // Enough rows that hashing the database keeps create busy between its pin and the tree walk.
    const fx = await makeServerRoot({ rows: 60000 });
    const out = await Deno.makeTempDir({ prefix: "vigo-mix-out-" });
    try {
      await setState(fx.root, fx.db, "A");
      const a = join(out, "a.tar.gz");
      assert.equal((await runCli(["backup", "create", ...fx.flags, a])).code, 0);
      await setState(fx.root, fx.db, "B");

      const archive = join(out, "during.tar.gz");
      // A lock timeout far beyond what the whole run takes on a loaded machine (there it took more than
      // 25 s, its old bound under the default 30 s), so that a run that waited it out still shows.
      const started = Date.now();
      const create = spawnCli([
        "backup",
        "create",
        ...fx.flags,
        "--lock-timeout",
        `${LOCK_TIMEOUT_S}s`,
        archive,
      ]);
      await hasOpen(create.pid, fx.db, opened);
      Deno.kill(create.pid, "SIGSTOP");
      const restore = await runCli(["backup", "restore", a, "--target", fx.root, "--force"]).finally(() =>
        Deno.kill(create.pid, "SIGCONT")
      );
      assert.equal(restore.code, 0, restore.stderr);
      const r = await create.output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, stderr);
      assert.deepEqual(await archivedStates(archive), { db: "A", stacks: "A" }, stderr);
      assert.match(stderr, /replaced.* starting over/);
      // Pinning did not wait out the lock timeout for two different files to agree.
      const took = Date.now() - started;
      assert.ok(took < LOCK_TIMEOUT_S * 1000, `create took ${took} ms`);
    } finally {
      await Deno.remove(out, { recursive: true });
      await Deno.remove(fx.root, { recursive: true });
    }
  });
}

Deno.test("create stopped once pinned, server.yaml saved by an editor: the start-over names server.yaml", async () => {
  const fx = await makeServerRoot({ rows: 60000 });
  const out = await Deno.makeTempDir({ prefix: "vigo-mix-out-" });
  try {
    const archive = join(out, "during.tar.gz");
    const create = spawnCli(["backup", "create", ...fx.flags, archive]);
    await hasOpen(create.pid, fx.db, 2);
    Deno.kill(create.pid, "SIGSTOP");
    try {
      // What an editor (or sed -i) does: the new text under a temporary name, renamed over the old.
      const text = await Deno.readTextFile(fx.serverYaml);
      await Deno.writeTextFile(`${fx.serverYaml}.new`, `${text}# edited\n`);
      await Deno.rename(`${fx.serverYaml}.new`, fx.serverYaml);
    } finally {
      Deno.kill(create.pid, "SIGCONT");
    }
    const r = await create.output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, stderr);
    // Before, it blamed "the database or a top-level tree" under the server root.
    assert.match(stderr, new RegExp(`${fx.serverYaml}: replaced .*; starting over`));
    assert.doesNotMatch(stderr, /database/);
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});

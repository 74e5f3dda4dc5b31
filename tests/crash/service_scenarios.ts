/** Crash-matrix scenarios outside the archive commands: replicate, replica restore, crate run, secret set. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot, treeHash } from "../archive/fixture.ts";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { buildReplica } from "../litestream/handmade_replica.ts";
import { requireHealthyUnlocked, type Scenario, type World } from "./crash_harness.ts";
import { absentOrComplete, mustRun, rm, rows, SNAPSHOT } from "./scenario_util.ts";

export function secretSet(): Scenario {
  return {
    name: "secret set",
    async setup(): Promise<World> {
      const dir = await Deno.makeTempDir({ prefix: "vigo-crash-secret-" });
      const root = join(dir, "root");
      mkdirSync(join(root, "secrets"), { recursive: true });
      writeFileSync(join(dir, "old"), "old value");
      writeFileSync(join(dir, "new"), "new value");
      const set = (v: string) => ({
        args: ["secret", "set", "app/token", "--value-file", join(dir, v), "--server-root", root],
      });
      await mustRun(set("old").args);
      const get = async () =>
        (await mustRun(["secret", "get", "app/token", "--server-root", root])).replace(/\n$/, "");
      return {
        dir,
        run: set("new"),
        async afterKill() {
          const v = await get();
          if (v === "old value") return "old";
          if (v === "new value") return "new";
          throw new Error(`secret app/token reads ${JSON.stringify(v)}`);
        },
        rerun: () => set("new"),
        async afterRerun() {
          if (await get() !== "new value") throw new Error("the re-run did not store the new value");
        },
        cleanup: () => rm(dir),
      };
    },
  };
}

/** A server root with six dated archives (copies of one, each with its sidecar). */

export function replicaRestore(): Scenario {
  return {
    name: "replica restore",
    async setup(): Promise<World> {
      const dir = await Deno.makeTempDir({ prefix: "vigo-crash-replica-" });
      const replica = join(dir, "replica");
      mkdirSync(replica);
      await buildReplica(
        replicaClientFor(new FileBackend(`file://${replica}`)),
        "0123456789abcdef",
        dir,
        true,
      );
      const yaml = join(dir, "server.yaml");
      writeFileSync(yaml, "database:\n  driver: sqlite\n");
      const out = (n: string) => ({
        args: [
          "backup",
          "replica",
          "restore",
          "-o",
          join(dir, n),
          "--url",
          `file://${replica}`,
          "--server-yaml",
          yaml,
          "--server-root",
          dir,
        ],
      });
      const complete = (p: string) => {
        requireHealthyUnlocked(p);
        return rows(p) === 90;
      };
      return {
        dir,
        run: out("a.db"),
        afterKill: () => Promise.resolve(absentOrComplete(join(dir, "a.db"), complete)),
        rerun: () => out(existsSync(join(dir, "a.db")) ? "b.db" : "a.db"),
        afterRerun() {
          const got = ["a.db", "b.db"].map((n) => join(dir, n)).filter(existsSync);
          if (!got.length || !got.every(complete)) throw new Error("no complete database after the re-run");
          return Promise.resolve();
        },
        cleanup: () => rm(dir),
      };
    },
  };
}

export function crateBackup(scale: number): Scenario {
  return {
    name: "crate run (backup)",
    async setup(): Promise<World> {
      const dir = await Deno.makeTempDir({ prefix: "vigo-crash-crate-" });
      const src = join(dir, "src"), target = join(dir, "target");
      for (let i = 0; i < 150 * scale; i++) {
        mkdirSync(join(src, `d${i % 10}`), { recursive: true });
        writeFileSync(join(src, `d${i % 10}`, `f${i}.txt`), `file ${i}\n`.repeat(50));
      }
      const expected = JSON.stringify(await treeHash(src));
      const crate = join(dir, "c.yaml");
      writeFileSync(
        crate,
        `name: t\nresources:\n  - name: files\n    type: backup\n    source_dir: ${src}\n    target_path: ${target}\n    min_free_space: 1M\n`,
      );
      const snaps = () => (existsSync(target) ? readdirSync(target).filter((n) => SNAPSHOT.test(n)) : []);
      const allComplete = async () => {
        for (const s of snaps()) {
          if (JSON.stringify(await treeHash(join(target, s))) !== expected) {
            throw new Error(`${s}: incomplete snapshot`);
          }
        }
        return snaps().length;
      };
      return {
        dir,
        run: { args: ["crate", "run", crate], env: { VIGO_NOW: "2026-03-13T02:00:00Z" } },
        async afterKill() {
          return (await allComplete()) ? "new" : "old";
        },
        rerun: () => ({ args: ["crate", "run", crate], env: { VIGO_NOW: "2026-03-14T02:00:00Z" } }),
        async afterRerun() {
          if (!snaps().includes("2026.073.02.00")) throw new Error("the re-run made no snapshot");
          await allComplete();
        },
        cleanup: () => rm(dir),
      };
    },
  };
}

export function crateDbBackup(scale: number): Scenario {
  return {
    name: "crate run (db_backup)",
    async setup(): Promise<World> {
      const dir = await Deno.makeTempDir({ prefix: "vigo-crash-dump-" });
      const db = join(dir, "vigo.db"), target = join(dir, "dumps");
      const d = new DatabaseSync(db);
      d.exec("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);");
      d.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ${5000 * scale})
              INSERT INTO t(v) SELECT hex(randomblob(40)) FROM c;`);
      d.close();
      const crate = join(dir, "c.yaml");
      writeFileSync(
        crate,
        `name: db\nresources:\n  - name: vigo-db\n    type: db_backup\n    db_type: sqlite\n    source_db: ${db}\n    target_path: ${target}\n    min_free_space: 1M\n`,
      );
      const dumps = () => (existsSync(target) ? readdirSync(target).filter((n) => SNAPSHOT.test(n)) : []);
      const allComplete = async () => {
        for (const s of dumps()) {
          const out = join(dir, `check-${s}.db`);
          await mustRun(["crate", "restore-dump", join(target, s, "vigo.sql.gz"), "-o", out]);
          const n = rows(out);
          await Deno.remove(out);
          if (n !== 5000 * scale) throw new Error(`${s}: the dump restores ${n} rows`);
        }
        return dumps().length;
      };
      return {
        dir,
        run: { args: ["crate", "run", crate], env: { VIGO_NOW: "2026-03-13T02:00:00Z" } },
        async afterKill() {
          requireHealthyUnlocked(db);
          return (await allComplete()) ? "new" : "old";
        },
        rerun: () => ({ args: ["crate", "run", crate], env: { VIGO_NOW: "2026-03-14T02:00:00Z" } }),
        async afterRerun() {
          requireHealthyUnlocked(db);
          if (!dumps().includes("2026.073.02.00")) throw new Error("the re-run made no dump");
          await allComplete();
        },
        cleanup: () => rm(dir),
      };
    },
  };
}

export function replicate(scale: number): Scenario {
  return {
    name: "replicate",
    async setup(): Promise<World> {
      const fx = await makeServerRoot({ rows: 2000 * scale });
      const replica = join(fx.root, "replica");
      await Deno.writeTextFile(
        fx.serverYaml,
        `database:\n  driver: sqlite\nbackup:\n  url: file://${replica}\n  sync_interval: 100ms\n`,
      );
      // Its syncs (every 100 ms) run for a while once it has started, then the SIGTERM's flush.
      const run = {
        args: ["backup", "replicate", ...fx.flags],
        stop: { line: /replication started/, afterMs: 1500 },
      };
      const restored = async (name: string) => {
        const out = join(fx.root, name);
        await mustRun(["backup", "replica", "restore", "-o", out, ...fx.flags]);
        requireHealthyUnlocked(out);
        const n = rows(out);
        await rm(out);
        return n;
      };
      let written = 0;
      return {
        dir: fx.root,
        run,
        async afterKill() {
          requireHealthyUnlocked(fx.db);
          const have = rows(fx.db);
          // Killed before its first generation was complete: there is nothing to restore yet (exit 9).
          const r = await runCli(["backup", "replica", "restore", "-o", join(fx.root, "k.db"), ...fx.flags]);
          let state = "old";
          if (r.code === 0) {
            requireHealthyUnlocked(join(fx.root, "k.db"));
            state = `new (replica: ${rows(join(fx.root, "k.db"))} of ${have} rows)`;
            await rm(join(fx.root, "k.db"));
          } else if (r.code !== 9) {
            throw new Error(`replica restore after the kill: exit ${r.code}: ${r.stderr.trim()}`);
          }
          // The server keeps writing while the replicator is down.
          const d = new DatabaseSync(fx.db);
          d.exec("INSERT INTO t(v, n) SELECT randomblob(300), id FROM t LIMIT 300");
          d.close();
          written = have + 300;
          return state;
        },
        rerun: () => run,
        async afterRerun() {
          requireHealthyUnlocked(fx.db);
          const n = await restored("r.db");
          if (n !== (written || rows(fx.db))) {
            throw new Error(`the replica restores ${n} rows, the database has ${written}`);
          }
        },
        cleanup: () => rm(fx.root),
      };
    },
  };
}

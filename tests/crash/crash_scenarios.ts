/**
 * The operations of the crash matrix, each a fresh world per kill: create, restore, replicate, replica restore,
 * crate run (backup and db_backup), download, prune and secret set. `scale` sizes the data (1 for the
 * suite's sample, larger for `scripts/crash_matrix.ts --full`) so kills spread over a longer run.
 */
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot, treeHash } from "../archive/fixture.ts";
import { recoverInterruptedRestore } from "../../lib/archive/restore_journal.ts";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { buildReplica } from "../litestream/handmade_replica.ts";
import { requireHealthyUnlocked, type Scenario, type World } from "./crash_harness.ts";

const sha256 = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const rm = (p: string) => Deno.remove(p, { recursive: true }).catch(() => {});

async function mustRun(args: string[], env?: Record<string, string>): Promise<string> {
  const r = await runCli(args, { env });
  if (r.code !== 0) throw new Error(`vigocli ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function rows(db: string): number {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return Number((d.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n);
  } finally {
    d.close();
  }
}

/** "old" when `path` is absent, "new" when `complete(path)` holds; anything else is damage. */
function absentOrComplete(path: string, complete: (p: string) => boolean): string {
  if (!existsSync(path)) return "old";
  if (!complete(path)) throw new Error(`${path}: present but incomplete`);
  return "new";
}

function create(scale: number): Scenario {
  return {
    name: "create",
    async setup(): Promise<World> {
      const fx = await makeServerRoot({ rows: 4000 * scale });
      const out = join(fx.root, "snapshots");
      return {
        dir: fx.root,
        run: { args: ["backup", "create", ...fx.flags, join(out, "k.tar.gz")] },
        async afterKill() {
          requireHealthyUnlocked(fx.db);
          const k = join(out, "k.tar.gz");
          if (!existsSync(k)) return "old";
          // verify fails without the sidecar, so an archive renamed in before its sidecar fails here.
          const v = await runCli(["backup", "verify", k]);
          if (v.code !== 0) throw new Error(`${k}: present but fails verify: ${v.stderr.trim()}`);
          return "new";
        },
        rerun: () => ({ args: ["backup", "create", ...fx.flags, join(out, "r.tar.gz")] }),
        async afterRerun() {
          requireHealthyUnlocked(fx.db);
          await mustRun(["backup", "verify", join(out, "r.tar.gz")]);
        },
        cleanup: () => rm(fx.root),
      };
    },
  };
}

function restore(scale: number): Scenario {
  const skipNew = (p: string) => p === "snapshots" || p === "target" || p.startsWith("db/");
  // Moved-aside files are kept on purpose; staging a killed run left is swept by the next one.
  const skipTarget = (p: string) => /^\.(pre-restore|restore-staging)-/.test(p) || p.startsWith("db/");
  return {
    name: "restore",
    async setup(): Promise<World> {
      const src = await makeServerRoot({ rows: 3000 * scale });
      const archive = join(src.root, "snapshots", "a.tar.gz");
      await mustRun(["backup", "create", ...src.flags, archive]);
      const dst = join(src.root, "target");
      const old = await makeServerRoot({ rows: 100 });
      await Deno.rename(old.root, dst);
      await Deno.remove(join(dst, "snapshots"), { recursive: true });
      await Deno.writeTextFile(join(dst, "stacks/roles/only-old.yaml"), "old: true\n");
      const before = await treeHash(dst, skipTarget);
      const after = await treeHash(src.root, skipNew);
      const judge = async () => {
        const now = JSON.stringify(await treeHash(dst, skipTarget));
        const n = rows(join(dst, "db/vigo.db"));
        if (now === JSON.stringify(before) && n === 100) return "old";
        if (now === JSON.stringify(after) && n === 3000 * scale) return "new";
        throw new Error(`${dst}: neither the old nor the new tree (${n} rows)`);
      };
      const args = ["backup", "restore", archive, "--target", dst, "--force"];
      return {
        dir: src.root,
        run: { args },
        async afterKill() {
          // A kill inside the commit phase leaves a journal; the next command rolls it back first.
          const journaled = recoverInterruptedRestore(dst).length > 0;
          const state = await judge();
          if (journaled && state !== "old") {
            throw new Error("journal rolled back to a state that is not the old one");
          }
          return journaled ? "old (rolled back from the journal)" : state;
        },
        rerun: () => ({ args }),
        async afterRerun() {
          if (await judge() !== "new") throw new Error("the re-run did not restore the new tree");
        },
        cleanup: () => rm(src.root),
      };
    },
  };
}

function secretSet(): Scenario {
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
async function archivesWorld(): Promise<{ root: string; flags: string[]; names: string[]; sha: string }> {
  const fx = await makeServerRoot({ rows: 200 });
  const snaps = join(fx.root, "snapshots");
  const one = join(fx.root, "one.tar.gz");
  await mustRun(["backup", "create", ...fx.flags, one]);
  const names = [1, 2, 3, 4, 5, 6].map((d) => `vigo-backup-2026-03-0${d}T02:00:00Z.tar.gz`);
  const sha = sha256(one);
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  for (const n of names) {
    copyFileSync(one, join(snaps, n));
    writeFileSync(join(snaps, `${n}.sha256`), `${sha}  ${n}\n`);
    for (const f of [n, `${n}.sha256`]) utimesSync(join(snaps, f), old, old);
  }
  await Deno.remove(one);
  await Deno.remove(`${one}.sha256`);
  return { root: fx.root, flags: fx.flags, names, sha };
}

function prune(): Scenario {
  return {
    name: "prune",
    async setup(): Promise<World> {
      const w = await archivesWorld();
      const snaps = join(w.root, "snapshots");
      const newest = w.names.slice(-2);
      const kept = () => {
        for (const n of newest) {
          if (sha256(join(snaps, n)) !== w.sha || !existsSync(join(snaps, `${n}.sha256`))) {
            throw new Error(`${n}: a kept archive was damaged`);
          }
        }
        return readdirSync(snaps).filter((n) => n.endsWith(".tar.gz")).length;
      };
      const args = ["backup", "prune", "--keep", "2", ...w.flags];
      return {
        dir: w.root,
        run: { args },
        afterKill() {
          const n = kept();
          return Promise.resolve(n === 6 ? "old" : n === 2 ? "new" : `partly pruned (${n} archives)`);
        },
        rerun: () => ({ args }),
        afterRerun() {
          const left = readdirSync(snaps).sort();
          const want = newest.flatMap((n) => [n, `${n}.sha256`]).sort();
          if (JSON.stringify(left) !== JSON.stringify(want)) throw new Error(`left: ${left.join(" ")}`);
          kept();
          return Promise.resolve();
        },
        cleanup: () => rm(w.root),
      };
    },
  };
}

function download(): Scenario {
  return {
    name: "download",
    async setup(): Promise<World> {
      const w = await archivesWorld();
      const remote = join(w.root, "remote");
      mkdirSync(join(remote, "archives"), { recursive: true });
      const name = w.names[0];
      for (const f of [name, `${name}.sha256`]) {
        copyFileSync(join(w.root, "snapshots", f), join(remote, "archives", f));
      }
      const first = join(w.root, "dl1"), second = join(w.root, "dl2");
      mkdirSync(first);
      mkdirSync(second);
      const dl = (dir: string) => ({
        args: ["backup", "download", name, "-o", `${dir}/`, "--url", `file://${remote}`, ...w.flags],
      });
      const complete = (p: string) => sha256(p) === w.sha;
      return {
        dir: w.root,
        run: dl(first),
        afterKill: () => Promise.resolve(absentOrComplete(join(first, name), complete)),
        // A finished first run makes the same -o an "exists" refusal (exit 10), rightly: re-run elsewhere.
        rerun: () => dl(existsSync(join(first, name)) ? second : first),
        afterRerun() {
          const got = [join(first, name), join(second, name)].filter(existsSync);
          if (!got.length || !got.every(complete)) throw new Error("no complete download after the re-run");
          return Promise.resolve();
        },
        cleanup: () => rm(w.root),
      };
    },
  };
}

function replicaRestore(): Scenario {
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

const SNAPSHOT = /^\d{4}\.\d{3}\.\d{2}\.\d{2}$/;

function crateBackup(scale: number): Scenario {
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

function crateDbBackup(scale: number): Scenario {
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

function replicate(scale: number): Scenario {
  return {
    name: "replicate",
    async setup(): Promise<World> {
      const fx = await makeServerRoot({ rows: 2000 * scale });
      const replica = join(fx.root, "replica");
      await Deno.writeTextFile(
        fx.serverYaml,
        `database:\n  driver: sqlite\nbackup:\n  url: file://${replica}\n  sync_interval: 100ms\n`,
      );
      const run = { args: ["backup", "replicate", ...fx.flags], stopAfterMs: 2500 };
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

/** Every scenario of the matrix. */
export function crashScenarios(scale = 1): Scenario[] {
  return [
    create(scale),
    restore(scale),
    replicate(scale),
    replicaRestore(),
    crateBackup(scale),
    crateDbBackup(scale),
    download(),
    prune(),
    secretSet(),
  ];
}

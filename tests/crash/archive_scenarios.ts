/** Crash-matrix scenarios of the archive commands: create, restore, download, upload, prune. */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { makeServerRoot, treeHash } from "../archive/fixture.ts";
import { recoverInterruptedRestore } from "../../lib/archive/restore_journal.ts";
import { requireHealthyUnlocked, type Scenario, TEMP_NAME, type World } from "./crash_harness.ts";
import { absentOrComplete, mustRun, rm, rows, sha256 } from "./scenario_util.ts";

export function create(scale: number): Scenario {
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
          // A kill leaves k's lock file; the next create in the directory removes it.
          const locks = readdirSync(out).filter((n) => n.endsWith(".vigo-create.lock"));
          if (locks.length) throw new Error(`lock files left: ${locks.join(", ")}`);
        },
        cleanup: () => rm(fx.root),
      };
    },
  };
}

export function restore(scale: number): Scenario {
  const skipNew = (p: string) => p === "snapshots" || p === "target" || p.startsWith("db/");
  // Moved-aside files are kept on purpose; staging a killed run left is swept by the next one.
  const skipTarget = (p: string) =>
    p.startsWith(".pre-restore-") || TEMP_NAME.test(p.split("/").pop()!) || p.startsWith("db/");
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
        const tree = await treeHash(dst, skipTarget);
        const now = JSON.stringify(tree);
        const n = rows(join(dst, "db/vigo.db"));
        if (now === JSON.stringify(before) && n === 100) return "old";
        if (now === JSON.stringify(after) && n === 3000 * scale) return "new";
        const strange = tree.filter((l) => !before.includes(l) && !after.includes(l)).slice(0, 3);
        throw new Error(`${dst}: neither the old nor the new tree (${n} rows; e.g. ${strange.join(", ")})`);
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

/** The archives the archive-command worlds copy: made once per process, as a create is a world's slow part. */
interface MadeArchives {
  /** Two archives of different bytes, each with its sidecar. */
  one: string;
  two: string;
}

let made: Promise<MadeArchives> | undefined;

function madeArchives(): Promise<MadeArchives> {
  made ??= (async () => {
    const fx = await makeServerRoot({ rows: 200 });
    const one = join(fx.root, "one.tar.gz"), two = join(fx.root, "two.tar.gz");
    await mustRun(["backup", "create", ...fx.flags, one]);
    await Deno.writeTextFile(join(fx.root, "stacks/vars/global.yaml"), "ntp: time.example.org\n");
    await mustRun(["backup", "create", ...fx.flags, two]);
    addEventListener("unload", () => Deno.removeSync(fx.root, { recursive: true }));
    return { one, two };
  })();
  return made;
}

/** A fresh server root (server.yaml, an empty snapshots/) and the made archives. */
async function archiveRoot(): Promise<{ root: string; flags: string[]; made: MadeArchives }> {
  const m = await madeArchives();
  const root = await Deno.makeTempDir({ prefix: "vigo-crash-" });
  mkdirSync(join(root, "snapshots"));
  const yaml = join(root, "server.yaml");
  writeFileSync(yaml, "database:\n  driver: sqlite\n");
  return { root, flags: ["--server-root", root, "--server-yaml", yaml], made: m };
}

/** Copies archive `from` and its sidecar to `to` (a sidecar naming `to`'s file). */
function copyArchive(from: string, to: string): void {
  copyFileSync(from, to);
  writeFileSync(`${to}.sha256`, `${sha256(from)}  ${basename(to)}\n`);
}

async function archivesWorld(): Promise<{ root: string; flags: string[]; names: string[]; sha: string }> {
  const { root, flags, made } = await archiveRoot();
  const snaps = join(root, "snapshots");
  const names = [1, 2, 3, 4, 5, 6].map((d) => `vigo-backup-2026-03-0${d}T02:00:00Z.tar.gz`);
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  for (const n of names) {
    copyArchive(made.one, join(snaps, n));
    for (const f of [n, `${n}.sha256`]) utimesSync(join(snaps, f), old, old);
  }
  return { root, flags, names, sha: sha256(made.one) };
}

export function prune(): Scenario {
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

export function download(): Scenario {
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
      const first = join(w.root, "dl1");
      mkdirSync(first);
      const dl = (out: string) => ({
        args: ["backup", "download", name, "-o", out, "--url", `file://${remote}`, ...w.flags],
      });
      const complete = (p: string) => sha256(p) === w.sha;
      return {
        dir: w.root,
        run: dl(`${first}/`),
        afterKill: () => Promise.resolve(absentOrComplete(join(first, name), complete)),
        // A finished first run makes the same -o an "exists" refusal (exit 10), rightly: re-run under
        // another name in the same directory, whose sweep must take what a kill between linking the
        // archive into place and removing its temporary name left there.
        rerun: () => dl(existsSync(join(first, name)) ? join(first, `again-${name}`) : `${first}/`),
        afterRerun() {
          const got = [join(first, name), join(first, `again-${name}`)].filter(existsSync);
          if (!got.length || !got.every(complete)) throw new Error("no complete download after the re-run");
          return Promise.resolve();
        },
        cleanup: () => rm(w.root),
      };
    },
  };
}

export function upload(): Scenario {
  return {
    name: "upload",
    async setup(): Promise<World> {
      const w = await archivesWorld();
      const name = w.names[0];
      const archive = join(w.root, "snapshots", name);
      const first = join(w.root, "remote1"), second = join(w.root, "remote2");
      const up = (remote: string) => ({
        args: ["backup", "upload", archive, "--url", `file://${remote}`, ...w.flags],
      });
      // The sidecar goes second, so a kill between the two puts leaves the archive alone ("half"): no
      // listing ever shows a sidecar vouching for missing bytes. Any other state is damage.
      const judge = (remote: string): "old" | "half" | "new" => {
        const stored = join(remote, "archives", name);
        const sidecar = `${stored}.sha256`;
        if (!existsSync(stored)) {
          if (existsSync(sidecar)) throw new Error(`${sidecar}: a sidecar without its archive`);
          return "old";
        }
        if (sha256(stored) !== w.sha) throw new Error(`${stored}: present but incomplete`);
        if (!existsSync(sidecar)) return "half";
        if (readFileSync(sidecar, "utf8") !== `${w.sha}  ${name}\n`) throw new Error(`${sidecar}: wrong`);
        return "new";
      };
      return {
        dir: w.root,
        run: up(first),
        afterKill() {
          const state = judge(first);
          return Promise.resolve(state === "half" ? "archive without its sidecar" : state);
        },
        // A complete first upload makes the same remote an "exists" refusal (exit 10), rightly: re-run to
        // another. A half one must be completed by the re-run to the same remote.
        rerun: () => up(judge(first) === "new" ? second : first),
        afterRerun() {
          const states = [first, second].map(judge);
          if (states.includes("half") || !states.includes("new")) {
            throw new Error(`no complete upload after the re-run (${states.join(", ")})`);
          }
          return Promise.resolve();
        },
        cleanup: () => rm(w.root),
      };
    },
  };
}

/**
 * `upload --replace` over a stored pair: the new sidecar goes first, then the archive's atomic put.
 * Whatever the kill, the name holds the old pair, the new pair, or the old archive with the new sidecar
 * (killed between the two puts; a download refuses it, exit 8); the same command run again stores the
 * new pair, which then downloads.
 */
export function uploadReplace(): Scenario {
  return {
    name: "upload --replace",
    async setup(): Promise<World> {
      const { root, flags, made } = await archiveRoot();
      const name = "vigo-backup-2026-03-01T02:00:00Z.tar.gz";
      const local = join(root, "snapshots", name);
      copyArchive(made.two, local);
      const remote = join(root, "remote");
      const stored = join(remote, "archives", name);
      mkdirSync(join(remote, "archives"), { recursive: true });
      copyArchive(made.one, stored);
      const line = (p: string) => `${sha256(p)}  ${name}\n`;
      const oldLine = line(made.one), newLine = line(made.two);
      const judge = (): string => {
        if (!existsSync(stored)) throw new Error(`${stored}: no archive under the name`);
        const archive = sha256(stored) === sha256(made.one)
          ? "old"
          : sha256(stored) === sha256(made.two)
          ? "new"
          : "damaged";
        const sidecar = !existsSync(`${stored}.sha256`)
          ? "missing"
          : readFileSync(`${stored}.sha256`, "utf8") === oldLine
          ? "old"
          : readFileSync(`${stored}.sha256`, "utf8") === newLine
          ? "new"
          : "damaged";
        if (archive === sidecar) return archive;
        if (archive === "old" && sidecar === "new") return "old archive with the new sidecar";
        throw new Error(`${stored}: archive ${archive}, sidecar ${sidecar}`);
      };
      const args = ["backup", "upload", local, "--replace", "--url", `file://${remote}`, ...flags];
      return {
        dir: root,
        run: { args },
        afterKill: () => Promise.resolve(judge()),
        rerun: () => ({ args }),
        async afterRerun() {
          if (judge() !== "new") throw new Error(`after the re-run: ${judge()}`);
          const left = readdirSync(join(remote, "archives")).sort();
          if (left.join(" ") !== `${name} ${name}.sha256`) {
            throw new Error(`archives/ holds ${left.join(" ")}`);
          }
          const dl = join(root, "dl");
          mkdirSync(dl);
          await mustRun(["backup", "download", name, "-o", `${dl}/`, "--url", `file://${remote}`, ...flags]);
          if (sha256(join(dl, name)) !== sha256(made.two)) {
            throw new Error("the download is not the new archive");
          }
        },
        cleanup: () => rm(root),
      };
    },
  };
}

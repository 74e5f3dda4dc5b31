/**
 * A restore whose commit fails and whose undo fails too: the error names what could not be put back,
 * first in its one line and as its IoError.path (a drill tells its scratch disk's failure from the
 * backup's by that path), not only the failure that started the undo. The renames fail for real in the
 * kernel: strace injects EACCES into the restore's renames of chosen target paths (its `-P` matches a
 * rename's first path). Also for the rollback of an interrupted restore from its journal. Both errors
 * had no path before, and their messages led with the first failure or the journal. Skipped, saying
 * so, without strace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand, REPO_ROOT, runCli } from "../helpers/cli.ts";
import { makeServerRoot, treeHash, writeKilledJournal } from "./fixture.ts";
import { restoreSteps } from "../../lib/archive/restore_steps.ts";
import { journalPath } from "../../lib/archive/restore_journal.ts";

const hasStrace = new Deno.Command("sh", { args: ["-c", "command -v strace"] }).outputSync().success;
if (!hasStrace) console.warn("restore_undo_fail_cli_test: skipped, strace is not installed");

const RENAMES = "rename,renameat,renameat2";

/** Runs `cmd` with EACCES injected into its `when`-th (e.g. "2+") rename of any of `paths`. */
async function withFailingRenames(paths: string[], when: string, cmd: string[]) {
  const out = await new Deno.Command("strace", {
    args: [
      "-f",
      "-qq",
      "-o",
      "/dev/null",
      ...paths.flatMap((p) => ["-P", p]),
      "-e",
      `trace=${RENAMES}`,
      "-e",
      `inject=${RENAMES}:error=EACCES:when=${when}`,
      ...cmd,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** A child that restores `archive` over `target` with the library and prints its error's fields. */
function libraryRestore(archive: string, target: string): string[] {
  const script = `
    import { restoreArchive } from "${REPO_ROOT}lib/archive/restore.ts";
    import { IoError } from "${REPO_ROOT}lib/errors.ts";
    try {
      await restoreArchive({ archive: ${JSON.stringify(archive)}, target: ${JSON.stringify(target)},
        dbOnly: false, dryRun: false, force: true, now: new Date() });
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ io: e instanceof IoError, path: e.path ?? null, message: e.message }));
    }`;
  return [Deno.execPath(), "eval", "--quiet", script];
}

/** An archive of one server root, and another root to restore it over. */
async function setup() {
  const src = await makeServerRoot({ rows: 300 });
  const archive = join(src.root, "snapshots", "a.tar.gz");
  const r = await runCli(["backup", "create", ...src.flags, archive]);
  assert.equal(r.code, 0, r.stderr);
  const dst = await makeServerRoot({ rows: 50 });
  await Deno.remove(join(dst.root, "snapshots"), { recursive: true });
  const cleanup = async () => {
    await Deno.remove(src.root, { recursive: true });
    await Deno.remove(dst.root, { recursive: true });
  };
  return { src, archive, target: dst.root, cleanup };
}

Deno.test({
  name: "a failed restore whose undo fails names what it could not put back, in its line and its path",
  ignore: !hasStrace,
  async fn() {
    const { src, archive, target, cleanup } = await setup();
    try {
      const stacks = join(target, "stacks"), yaml = join(target, "server.yaml");
      const before = await treeHash(target);
      // Renames of these two, first path: stacks moved aside (1st), server.yaml moved aside (2nd, fails:
      // the commit fails), then the undo's move of the new stacks back to staging (3rd, fails).
      const cli = await withFailingRenames([stacks, yaml], "2+", [
        ...cliCommand(),
        "backup",
        "restore",
        archive,
        "--target",
        target,
        "--force",
      ]);
      assert.equal(cli.code, 11, cli.stderr);
      const lines = cli.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, cli.stderr);
      assert.match(
        lines[0],
        new RegExp(
          `^vigocli: ${stacks}: could not be put back \\(permission denied\\), undoing a restore that failed ` +
            `\\(${yaml}: permission denied\\): ${target}/\\.restore-journal-\\d+\\.json is kept and the next ` +
            "restore or create rolls it back$",
        ),
      );
      // What the line promises: the next restore rolls the journal back, then restores.
      const again = await runCli(["backup", "restore", archive, "--target", target, "--force"]);
      assert.equal(again.code, 0, again.stderr);
      const notDb = (p: string) => p.startsWith(".pre-restore-") || p.startsWith("db/") || p === "snapshots";
      assert.deepEqual(await treeHash(target, notDb), await treeHash(src.root, notDb));
      assert.notDeepEqual(await treeHash(target), before);

      // The library's error itself, in a process of its own: an IoError whose path is stacks/.
      const { target: t2, archive: a2, cleanup: c2 } = await setup();
      try {
        const lib = await withFailingRenames(
          [join(t2, "stacks"), join(t2, "server.yaml")],
          "2+",
          libraryRestore(a2, t2),
        );
        const err = JSON.parse(lib.stdout);
        assert.equal(err.io, true, lib.stdout + lib.stderr);
        assert.equal(err.path, join(t2, "stacks"), err.message);
      } finally {
        await c2();
      }
    } finally {
      await cleanup();
    }
  },
});

/** A PID that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test({
  name: "rolling back an interrupted restore that cannot put a path back names that path",
  ignore: !hasStrace,
  async fn() {
    const { archive, target, cleanup } = await setup();
    try {
      // What SIGKILL between the two renames of server.yaml's step leaves: its old file moved aside.
      const pid = await deadPid();
      const staging = join(target, `.restore-staging-${pid}-abcdef`);
      const aside = join(target, ".pre-restore-2026-01-01T00:00:00Z");
      await Deno.mkdir(staging);
      await Deno.writeTextFile(join(staging, "server.yaml"), "new: true\n");
      const steps = restoreSteps({
        target,
        staging,
        aside,
        units: ["server.yaml"],
        dbRel: "db/vigo.db",
        exists: (p) => {
          try {
            Deno.lstatSync(p);
            return true;
          } catch {
            return false;
          }
        },
      });
      await writeKilledJournal({ pid, target, staging, aside, steps });
      const yaml = join(target, "server.yaml");
      await Deno.mkdir(aside);
      await Deno.rename(yaml, join(aside, "server.yaml"));
      // The rollback's only rename of that first path: the old server.yaml back into the target.
      const r = await withFailingRenames([join(aside, "server.yaml")], "1+", [
        ...cliCommand(),
        "backup",
        "restore",
        archive,
        "--target",
        target,
        "--force",
      ]);
      assert.equal(r.code, 11, r.stderr);
      assert.equal(
        r.stderr,
        `vigocli: ${yaml}: could not be put back (permission denied), rolling back an interrupted restore: ` +
          `${journalPath(target, pid)} is kept and the next run tries again\n`,
      );
      // Without the fault the next run puts it back and restores.
      const again = await runCli(["backup", "restore", archive, "--target", target, "--force"]);
      assert.equal(again.code, 0, again.stderr);
    } finally {
      await cleanup();
    }
  },
});

/**
 * The rollback of a killed restore never destroys what the restore replaced, whatever happened to the
 * target between the kill and the next command: its staging directory removed by hand (a "leftover"),
 * something made again where an old item was moved aside, a second kill during the rollback, the dead
 * restore's PID now another process's, a restore made through a symbolic link; and a restore sweeps the
 * staging directories of a killed predecessor that had its PID. Real files, real processes (strace's SIGKILL)
 * and journals of dead processes, as SIGKILL mid-commit leaves them.
 */
import assert from "node:assert/strict";
import { writeKilledJournal } from "./fixture.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import process from "node:process";
import { makeTempDir } from "../../lib/archive/interrupt_cleanup.ts";
import {
  journalPath,
  recoverInterruptedRestore,
  recoverInterruptedRestoreLocking,
  RESTORE_LOCK_SUFFIX,
} from "../../lib/archive/restore_journal.ts";
import { restoreArchive } from "../../lib/archive/restore.ts";
import { acquireFileLockBeside } from "../../lib/fsutil/file_lock.ts";
import { applyStep, restoreSteps } from "../../lib/archive/restore_steps.ts";
import { ExitCode, IoError, type VigoError } from "../../lib/errors.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace } from "../helpers/unremovable_temp.ts";

const ARCHIVE = fileURLToPath(new URL("../vectors/archive/v1-basic.tar.gz", import.meta.url));
const UNITS = ["stacks", "secrets", "tls", "server.yaml"];

/** A server tree with `tag` in every file. */
function makeTree(dir: string, tag: string): void {
  for (const d of ["stacks/roles", "secrets", "tls"]) Deno.mkdirSync(join(dir, d), { recursive: true });
  Deno.writeTextFileSync(join(dir, "stacks/roles/web.yaml"), `${tag}\n`);
  Deno.writeTextFileSync(join(dir, "secrets/.master.key"), `${tag}\n`);
  Deno.writeTextFileSync(join(dir, "tls/ca.pem"), `${tag}\n`);
  Deno.writeTextFileSync(join(dir, "server.yaml"), `${tag}\n`);
}

/** Every file of `dir` and its text, journal, staging and pre-restore names included. */
function contents(dir: string, rel = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Deno.readDirSync(join(dir, rel))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) {
      out[`${p}/`] = "";
      Object.assign(out, contents(dir, p));
    } else out[p] = Deno.readTextFileSync(join(dir, p));
  }
  return out;
}

/** A PID that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

/**
 * A target holding the "old" tree, a staged "new" one and the journal of a dead restore that applied
 * its first `applied` steps, then moved the next one's old item aside when `half` (SIGKILL between the
 * two renames of that step).
 */
async function killedRestore(applied: number, half = false, pid?: number) {
  const target = Deno.makeTempDirSync({ prefix: "vigo-rollback-safety-" });
  makeTree(target, "old");
  const before = contents(target);
  pid ??= await deadPid();
  const staging = join(target, `.restore-staging-${pid}-abcdef`);
  const aside = join(target, ".pre-restore-2026-01-01T00:00:00Z");
  makeTree(staging, "new");
  const exists = (p: string) => {
    try {
      Deno.lstatSync(p);
      return true;
    } catch {
      return false;
    }
  };
  const steps = restoreSteps({ target, staging, aside, units: UNITS, dbRel: "db/vigo.db", exists });
  const journal = journalPath(target, pid);
  await writeKilledJournal({ pid, target, staging, aside, steps });
  for (const s of steps.slice(0, applied)) applyStep(s);
  if (half) {
    const s = steps[applied];
    Deno.mkdirSync(aside, { recursive: true });
    Deno.renameSync(s.dest, s.aside!);
  }
  return { target, before, staging, aside, journal, steps };
}

Deno.test("a rollback whose staging directory was removed by hand puts every old item back and loses none", async () => {
  // Killed before secrets/ moved (stacks/ replaced), then the staging directory removed as a leftover.
  const k = await killedRestore(1);
  Deno.removeSync(k.staging, { recursive: true });
  assert.deepEqual(recoverInterruptedRestore(k.target), [k.journal]);
  // Before: the undo of each step not yet made moved the old secrets/, tls/ and server.yaml into the
  // missing staging directory, which the rollback then removed.
  assert.deepEqual(contents(k.target), k.before);
  Deno.removeSync(k.target, { recursive: true });
});

Deno.test("a rollback refuses, keeping the journal and the old item, when the item's path was made again", async () => {
  // Killed right after the old stacks/ was moved aside; then something made an empty stacks/ again.
  const k = await killedRestore(0, true);
  const stacks = join(k.target, "stacks");
  Deno.mkdirSync(stacks);
  const err = (() => {
    try {
      recoverInterruptedRestore(k.target);
    } catch (e) {
      return e;
    }
  })();
  // Before: exit 0, stacks/ left empty and the pre-restore directory holding the old one removed.
  assert.ok(err instanceof IoError, `expected an IoError, got ${err}`);
  assert.equal(err.exitCode, ExitCode.Io);
  assert.equal(err.path, stacks);
  assert.ok(!err.message.includes("\n"), err.message);
  for (const p of [stacks, join(k.aside, "stacks"), k.journal]) {
    assert.ok(err.message.includes(p), err.message);
  }
  assert.equal(Deno.readTextFileSync(join(k.aside, "stacks/roles/web.yaml")), "old\n");
  assert.ok(Deno.statSync(k.journal).isFile);
  // Done as it says, the next run puts the whole old tree back.
  Deno.removeSync(stacks);
  assert.deepEqual(recoverInterruptedRestore(k.target), [k.journal]);
  assert.deepEqual(contents(k.target), k.before);
  Deno.removeSync(k.target, { recursive: true });
});

Deno.test({
  name: "a rollback killed part-way leaves its journal or nothing, never a lone pre-restore directory",
  ignore: !hasStrace,
  async fn() {
    const k = await killedRestore(2);
    // The rollback as a process of its own, SIGKILLed at its first touch of the pre-restore directory itself
    // (its removal: every undo names only the items in it).
    const script = join(k.target, "..", `${k.target.split("/").pop()}-rollback.ts`);
    Deno.writeTextFileSync(
      script,
      `import { recoverInterruptedRestore } from "${REPO_ROOT}lib/archive/restore_journal.ts";\n` +
        `recoverInterruptedRestore(${JSON.stringify(k.target)});\n`,
    );
    const out = await new Deno.Command("strace", {
      args: ["-f", "-qq", "-o", "/dev/null", "-P", k.aside, "-e", "inject=all:signal=SIGKILL:when=1"]
        .concat([Deno.execPath(), "run", "-A", "--quiet", script]),
      stderr: "piped",
    }).output();
    Deno.removeSync(script);
    assert.equal(
      out.signal ?? (out.code === 137 ? "SIGKILL" : out.code),
      "SIGKILL",
      new TextDecoder().decode(out.stderr),
    );
    // Before: the journal was removed first, and the kill left an empty .pre-restore-* directory that
    // read as a kept copy and that nothing ever removed.
    const names = Object.keys(contents(k.target));
    assert.ok(names.includes(`${k.journal.split("/").pop()}`), `journal gone, left: ${names}`);
    assert.deepEqual(recoverInterruptedRestore(k.target), [k.journal]);
    assert.deepEqual(contents(k.target), k.before);
    Deno.removeSync(k.target, { recursive: true });
  },
});

Deno.test("a dead restore's journal whose PID another process now has is rolled back, under the restore lock", async () => {
  // Whatever got the killed restore's PID after a reboot: a process that is no restore.
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const k = await killedRestore(2, false, other.pid);
    // `backup create`'s rollback takes the restore lock: while a restore holds it, that restore is running.
    const held = await acquireFileLockBeside(k.target, RESTORE_LOCK_SUFFIX, "test");
    await assert.rejects(() => recoverInterruptedRestoreLocking(k.target), (e: VigoError) => {
      assert.equal(e.exitCode, ExitCode.Busy, e.message);
      return true;
    });
    held.release();
    assert.ok(Deno.statSync(k.journal).isFile);
    // Nobody holds it: the journal's writer is dead, PID or no PID (before: exit 5, "a restore (PID n) is
    // replacing files in it", for as long as that process ran).
    assert.deepEqual(await recoverInterruptedRestoreLocking(k.target), [k.journal]);
    assert.deepEqual(contents(k.target), k.before);
    // `backup restore` holds the lock itself: the same, then it restores.
    const k2 = await killedRestore(2, false, other.pid);
    const r = await restoreArchive({
      archive: ARCHIVE,
      target: k2.target,
      dbOnly: false,
      dryRun: false,
      force: false,
      now: new Date(),
    });
    assert.ok(!Object.keys(contents(k2.target)).some((n) => n.startsWith(".restore-")));
    assert.equal(Deno.readTextFileSync(join(r.preRestoreDir!, "server.yaml")), "old\n");
    Deno.removeSync(k.target, { recursive: true });
    Deno.removeSync(k2.target, { recursive: true });
  } finally {
    other.kill("SIGKILL");
    await other.status;
  }
});

Deno.test("a restore removes the staging directories of a killed predecessor that had its PID (PID 1 in a container)", async () => {
  const target = Deno.makeTempDirSync({ prefix: "vigo-rollback-safety-" });
  makeTree(target, "old");
  // What a restore killed before its commit leaves, made by a process of this very PID (as every run is
  // PID 1 in a container or under unshare -pf): a whole staged copy, master key included.
  const earlier = join(target, `.restore-staging-${process.pid}-AbCdEf`);
  makeTree(earlier, "staged by a killed restore");
  // One this process made is its own, and stays.
  const { path: mine, forget } = makeTempDir(target, ".vigo-verify-");
  await restoreArchive({
    archive: ARCHIVE,
    target,
    dbOnly: false,
    dryRun: false,
    force: false,
    now: new Date(),
  });
  // Before: "its PID is mine" kept it, for good.
  assert.ok(!existsSync(earlier), "a dead restore's staging directory with this PID was kept");
  assert.ok(existsSync(mine), "this process's own temporary directory was swept");
  forget();
  Deno.removeSync(target, { recursive: true });
});

Deno.test({
  name: "a restore through a symbolic link killed mid-commit is rolled back through the directory itself",
  ignore: !hasStrace,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "vigo-rollback-safety-" });
    const target = join(dir, "data");
    const link = join(dir, "srv");
    makeTree(target, "old");
    const before = contents(target);
    Deno.symlinkSync(target, link);
    // A restore into the link, SIGKILLed at its rename of stacks/ (db/ already moved in).
    const script = join(dir, "restore.ts");
    Deno.writeTextFileSync(
      script,
      `import { restoreArchive } from "${REPO_ROOT}lib/archive/restore.ts";\n` +
        `await restoreArchive({ archive: ${JSON.stringify(ARCHIVE)}, target: ${JSON.stringify(link)}, ` +
        "dbOnly: false, dryRun: false, force: false, now: new Date() });\n",
    );
    const renames = "rename,renameat,renameat2";
    const out = await new Deno.Command("strace", {
      args: ["-f", "-qq", "-o", "/dev/null", "-e", `trace=${renames}`, "-P", join(link, "stacks")]
        .concat(["-P", join(target, "stacks"), "-e", `inject=${renames}:signal=SIGKILL:when=1`])
        .concat([Deno.execPath(), "run", "-A", "--quiet", script]),
      stderr: "piped",
    }).output();
    assert.equal(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr));
    assert.ok(Object.keys(contents(target)).includes("db/vigo.db"), "killed before the commit");
    // Before: the journal named the link, and through the directory it was refused, exit 4 ("written for
    // another target"), the target left half restored.
    assert.equal((await recoverInterruptedRestoreLocking(target)).length, 1);
    assert.deepEqual(contents(target), before);
    Deno.removeSync(dir, { recursive: true });
  },
});

Deno.test("a rollback refuses while SQLite's files of a server started after the kill lie beside the database", async () => {
  // Killed once the new database was in place; a server then opened it and wrote its -wal and -shm.
  const target = Deno.makeTempDirSync({ prefix: "vigo-rollback-safety-" });
  makeTree(target, "old");
  Deno.mkdirSync(join(target, "db"));
  Deno.writeTextFileSync(join(target, "db/vigo.db"), "old database\n");
  const before = contents(target);
  const pid = await deadPid();
  const staging = join(target, `.restore-staging-${pid}-abcdef`);
  const aside = join(target, ".pre-restore-2026-01-01T00:00:00Z");
  makeTree(staging, "new");
  Deno.mkdirSync(join(staging, "db"));
  Deno.writeTextFileSync(join(staging, "db/vigo.db"), "new database\n");
  const units = ["db/vigo.db", ...UNITS];
  const steps = restoreSteps({ target, staging, aside, units, dbRel: "db/vigo.db", exists: existsSync });
  const journal = journalPath(target, pid);
  await writeKilledJournal({ pid, target, staging, aside, steps });
  applyStep(steps.find((s) => s.dest === join(target, "db/vigo.db"))!);
  const wal = join(target, "db/vigo.db-wal"), shm = join(target, "db/vigo.db-shm");
  Deno.writeTextFileSync(wal, "frames of the new database\n");
  Deno.writeTextFileSync(shm, "index\n");
  const err = (() => {
    try {
      recoverInterruptedRestore(target);
    } catch (e) {
      return e;
    }
  })();
  // Before: the old database was put back beside the server's -wal, which SQLite replayed onto it.
  assert.ok(err instanceof IoError, `expected an IoError, got ${err}`);
  assert.equal(err.exitCode, ExitCode.Io);
  assert.ok(err.message.startsWith(`${wal}, ${shm}: made after the restore was interrupted`), err.message);
  assert.equal(Deno.readTextFileSync(join(aside, "db/vigo.db")), "old database\n");
  assert.ok(Deno.statSync(journal).isFile);
  // Moved out as it says (both at once), the next run puts the whole old tree back.
  Deno.removeSync(wal);
  Deno.removeSync(shm);
  assert.deepEqual(recoverInterruptedRestore(target), [journal]);
  assert.deepEqual(contents(target), before);
  Deno.removeSync(target, { recursive: true });
});

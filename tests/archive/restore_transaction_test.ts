/**
 * Restore is all-or-nothing. A failure late in the commit phase (a mount point that cannot be renamed,
 * an immutable file) rolls back every rename already made; a restore killed between two renames is
 * rolled back by the next command from its journal; a planted journal cannot move files elsewhere; a
 * missing target is created 0755 (secrets/ keeps its archived mode), not world-writable, under umask 000. Real mounts and chattr: root only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import { exists, makeServerRoot, treeHash } from "./fixture.ts";
import { restoreArchive } from "../../lib/archive/restore.ts";
import {
  JOURNAL_FORMAT,
  JOURNAL_VERSION,
  journalPath,
  parseJournal,
  recoverInterruptedRestore,
  writeJournal,
} from "../../lib/archive/restore_journal.ts";
import { applyStep, restoreSteps } from "../../lib/archive/restore_steps.ts";
import { ExitCode, IoError, type VigoError } from "../../lib/errors.ts";

const isRoot = process.getuid?.() === 0;
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

/** An archive of one server root, and a second, different root to restore it over. */
async function setup() {
  const src = await makeServerRoot({ rows: 300 });
  const archive = join(src.root, "snapshots", "a.tar.gz");
  const r = await runCli(["backup", "create", ...src.flags, archive]);
  assert.equal(r.code, 0, r.stderr);
  const dst = await makeServerRoot({ rows: 50 });
  await Deno.remove(join(dst.root, "snapshots"), { recursive: true });
  await Deno.writeTextFile(join(dst.root, "stacks/roles/only-here.yaml"), "old: true\n");
  return { src, dst, archive, before: await treeHash(dst.root) };
}

/**
 * The rolled-back failure is still the IoError it was, with its path (a drill reads it to tell its own
 * scratch disk from the backup), and only its message adds the rollback.
 */
async function expectRolledBack(
  ctx: Awaited<ReturnType<typeof setup>>,
  run: () => Promise<unknown>,
  names: string,
) {
  const err = await run().then(() => undefined, (e) => e);
  assert.ok(err instanceof IoError, `expected an IoError, got ${err?.constructor?.name}: ${err}`);
  assert.equal(err.exitCode, ExitCode.Io, err.message);
  assert.equal(err.path, names, err.message);
  assert.ok(err.message.startsWith(`${names}: `), `message does not start with ${names}: ${err.message}`);
  assert.match(err.message, /rolled back/);
  assert.deepEqual(await treeHash(ctx.dst.root), ctx.before, "target changed");
}

/** A full restore of the context's archive over its target, with --force (the tests hold no server). */
function forcedRestore(ctx: { archive: string; dst: { root: string } }) {
  return restoreArchive({
    archive: ctx.archive,
    target: ctx.dst.root,
    dbOnly: false,
    dryRun: false,
    force: true,
    now: new Date(),
  });
}

Deno.test({
  name: "a mount point at tls/ fails the commit late: exit 11, every earlier rename undone",
  ignore: !isRoot,
  async fn() {
    const ctx = await setup();
    const tls = join(ctx.dst.root, "tls");
    const holder = await Deno.makeTempDir();
    await Deno.copyFile(join(tls, "ca.pem"), join(holder, "ca.pem"));
    await sh(`mount --bind '${holder}' '${tls}'`);
    try {
      ctx.before = await treeHash(ctx.dst.root);
      await expectRolledBack(
        ctx,
        () => forcedRestore(ctx),
        tls,
      );
    } finally {
      await sh(`umount '${tls}'`);
    }
    assert.deepEqual(names(ctx.dst.root), ["db", "secrets", "server.yaml", "stacks", "tls"]);
    await Deno.remove(holder, { recursive: true });
    await Deno.remove(ctx.src.root, { recursive: true });
    await Deno.remove(ctx.dst.root, { recursive: true });
  },
});

Deno.test({
  name: "an immutable server.yaml (the last unit) fails the commit: exit 11, nothing restored",
  ignore: !isRoot,
  async fn() {
    const ctx = await setup();
    const yaml = join(ctx.dst.root, "server.yaml");
    await sh(`chattr +i '${yaml}'`);
    try {
      await expectRolledBack(
        ctx,
        () => forcedRestore(ctx),
        yaml,
      );
    } finally {
      await sh(`chattr -i '${yaml}'`);
    }
    assert.deepEqual(names(ctx.dst.root), ["db", "secrets", "server.yaml", "stacks", "tls"]);
    await Deno.remove(ctx.src.root, { recursive: true });
    await Deno.remove(ctx.dst.root, { recursive: true });
  },
});

/** A PID that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("a restore killed between two renames is rolled back from its journal by the next run", async () => {
  const ctx = await setup();
  const target = ctx.dst.root;
  // Stage a different tree the way restore does, journal it under a dead PID, apply half the steps:
  // exactly what SIGKILL in the middle of the commit phase leaves.
  const pid = await deadPid();
  const staging = join(target, `.restore-staging-${pid}-abcdef`);
  const aside = join(target, ".pre-restore-2026-01-01T00:00:00Z");
  for (const d of ["stacks", "secrets", "tls", "db"]) await Deno.mkdir(join(staging, d), { recursive: true });
  await Deno.writeTextFile(join(staging, "server.yaml"), "new: true\n");
  await Deno.writeTextFile(join(staging, "db/vigo.db"), "not really a database");
  const units = ["db/vigo.db", "stacks", "secrets", "tls", "server.yaml"];
  const steps = restoreSteps({
    target,
    staging,
    aside,
    units,
    dbRel: "db/vigo.db",
    exists: (p) => existsPath(p),
  });
  const journal = {
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    pid,
    started_at: new Date().toISOString(),
    target,
    staging,
    aside,
    steps,
  } as const;
  await writeJournal(journal);
  for (const s of steps.slice(0, -1)) applyStep(s);
  // The moved-aside half of the last step, too: the old server.yaml is gone from the target.
  const last = steps.at(-1)!;
  await Deno.rename(last.dest, last.aside!);
  assert.notDeepEqual(await treeHash(target), ctx.before);

  const planted = join(target, `.x.tmp-${pid}-0123456789ab`);
  await Deno.writeTextFile(planted, "left by a dead create");
  // The next restore (here: of the same archive, dry run excluded) rolls back before it stages.
  // A dry run touches nothing but says its plan is against a half state.
  const dry = await restoreArchive({
    archive: ctx.archive,
    target,
    dbOnly: false,
    dryRun: true,
    force: false,
    now: new Date(),
  });
  assert.match(dry.pendingRollback ?? "", /restore was interrupted/);
  assert.ok(await exists(staging));
  assert.deepEqual(recoverInterruptedRestore(target), [journalPath(target, pid)]);
  assert.deepEqual(await treeHash(target, (p) => p.startsWith(".x.tmp-")), ctx.before);
  assert.ok(!(await exists(staging)) && !(await exists(aside)));
  const r = await runCli(["backup", "restore", ctx.archive, "--target", target, "--force"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!(await exists(planted)), "stale temp of a dead PID not swept");
  assert.deepEqual(
    await treeHash(target, (p) => p.startsWith(".pre-restore-") || p.startsWith("db/")),
    await treeHash(ctx.src.root, (p) => p === "snapshots" || p.startsWith("db/")),
  );
  await Deno.remove(ctx.src.root, { recursive: true });
  await Deno.remove(target, { recursive: true });
});

function existsPath(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("journals that must be refused: outside paths, wrong pid, garbage (exit 4)", () => {
  const t = "/srv/vigo";
  const ok = {
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    pid: 42,
    started_at: "2026-01-01T00:00:00.000Z",
    target: t,
    staging: `${t}/.restore-staging-42-abcdef`,
    aside: `${t}/.pre-restore-2026-01-01T00:00:00Z`,
    steps: [{
      dest: `${t}/stacks`,
      staged: `${t}/.restore-staging-42-abcdef/stacks`,
      aside: `${t}/.pre-restore-2026-01-01T00:00:00Z/stacks`,
    }],
  };
  const path = `${t}/.restore-journal-42.json`;
  assert.equal(parseJournal(JSON.stringify(ok), path, t).steps.length, 1);
  // Written for the same directory under another path (`mv`, a bind mount): its paths move to this one.
  const moved = parseJournal(JSON.stringify(ok).replaceAll(t, "/data/old-vigo"), path, t);
  assert.deepEqual(moved, ok);
  const bad: [string, unknown][] = [
    ["not JSON", "{"],
    ["pid", { ...ok, pid: 43 }],
    ["staging directory outside the target", { ...ok, target: "/srv/other" }],
    ["target not absolute", { ...ok, target: "srv/vigo" }],
    ["staging", { ...ok, staging: "/tmp/.restore-staging-42-abcdef" }],
    ["pre-restore", { ...ok, aside: `${t}/stacks` }],
    ["step", { ...ok, steps: [{ dest: "/etc/passwd" }] }],
    ["step", { ...ok, steps: [{ dest: `${t}/../etc` }] }],
    ["step", { ...ok, steps: [{ dest: `${t}/stacks`, staged: "/etc/shadow" }] }],
    ["step", { ...ok, steps: [{ dest: `${t}/stacks`, aside: `${t}/tls` }] }],
    ["unknown format", { ...ok, version: 2 }],
  ];
  for (const [why, j] of bad) {
    const text = typeof j === "string" ? j : JSON.stringify(j);
    assert.throws(() => parseJournal(text, path, t), (e: VigoError) => {
      assert.equal(e.exitCode, ExitCode.BadInput);
      assert.ok(e.message.startsWith(path) && e.message.includes(why), e.message);
      return true;
    });
  }
});

Deno.test("a missing target and its parents are created 0755, not world-writable, under umask 000", async () => {
  const ctx = await setup();
  const target = join(ctx.dst.root, "new", "root");
  const old = process.umask(0);
  try {
    await restoreArchive({
      archive: ctx.archive,
      target,
      dbOnly: false,
      dryRun: false,
      force: false,
      now: new Date(),
    });
  } finally {
    process.umask(old);
  }
  assert.equal(Deno.statSync(target).mode! & 0o777, 0o755);
  assert.equal(Deno.statSync(join(ctx.dst.root, "new")).mode! & 0o777, 0o755);
  await Deno.remove(ctx.src.root, { recursive: true });
  await Deno.remove(ctx.dst.root, { recursive: true });
});

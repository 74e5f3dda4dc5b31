/**
 * The advisory lock under both runtimes the code ships on: Deno (sources) and Bun (the compiled
 * binaries). A lock held by a Bun process excludes Deno and the reverse (one kernel flock), the
 * holder's PID is named, and a SIGKILLed holder's lock is released by the kernel.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  rejects,
} from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  acquireFileLock,
  acquireFileLockBeside,
  lockHolder,
  removeStaleLocks,
} from "../../lib/fsutil/file_lock.ts";
import { BusyError } from "../../lib/errors.ts";
import { openLockHandle } from "../../lib/runtime.ts";
import { background } from "../helpers/litestream.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { npmTool } from "../helpers/tools.ts";

const HOLD = `
import { acquireFileLock } from ${JSON.stringify(`${REPO_ROOT}lib/fsutil/file_lock.ts`)};
try {
  await acquireFileLock(process.argv[process.argv.length - 1], "target", "holding");
  console.log("locked");
  if (process.argv.includes("--exit")) process.exit(3);
  setInterval(() => {}, 1000);
} catch (err) {
  console.log(err.constructor.name, err.exitCode, err.message);
}
`;

Deno.test("file lock: exclusive in one process, PID named, released and removed", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  try {
    const a = await acquireFileLock(path, "/srv/x", "work");
    assertEquals(lockHolder(path), Deno.pid);
    await rejects(acquireFileLock(path, "/srv/x", "work"), (e: Error) => {
      assert(e instanceof BusyError);
      assertEquals(e.message, `/srv/x: work already running as PID ${Deno.pid} (lock ${path})`);
      return true;
    });
    a.release();
    a.release();
    assert(!existsSync(path));
    (await acquireFileLock(path, "/srv/x", "work")).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file lock: Bun and Deno exclude each other; SIGKILL of the holder frees the lock", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/x.lock`;
  const script = `${dir}/hold.ts`;
  await Deno.writeTextFile(script, `import process from "node:process";\n${HOLD}`);
  try {
    const bun = background(npmTool("bun"), ["run", script, path]);
    await bun.waitFor(/locked/);
    await rejects(acquireFileLock(path, "target", "work"), new RegExp(`PID ${bun.child.pid} `));
    await bun.kill();
    // The kernel dropped the dead process's lock; its stale file is simply locked again.
    assert(existsSync(path));
    const mine = await acquireFileLock(path, "target", "work");
    try {
      const bun2 = background(npmTool("bun"), ["run", script, path]);
      assertEquals(await bun2.wait(30_000), 0);
      assertMatch(
        bun2.output(),
        new RegExp(`^BusyError 5 target: holding already running as PID ${Deno.pid} `),
      );
    } finally {
      mine.release();
    }
    // process.exit (what a signal handler or main does after a failure) removes held lock files.
    for (
      const [cmd, args] of [[npmTool("bun"), ["run", script]], [Deno.execPath(), [
        "run",
        "-A",
        script,
      ]]] as const
    ) {
      const p = background(cmd, [...args, "--exit", path]);
      assertEquals(await p.wait(30_000), 3, p.output());
      assert(!existsSync(path), `${cmd}: lock file removed at exit`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file lock beside a target in an unwritable directory falls back to the temp directory", async () => {
  // sysfs accepts no new files (EACCES/EROFS, even for root): like a configcrate on a read-only mount.
  const target = "/sys/vigo-crate.yaml";
  const a = await acquireFileLockBeside(target, ".vigo-crate.lock", "crate run");
  try {
    assertMatch(a.path, /\/vigocli-[0-9a-f]{16}\.vigo-crate\.lock$/);
    await rejects(
      acquireFileLockBeside(target, ".vigo-crate.lock", "crate run"),
      new RegExp(`^BusyError: ${target}: crate run already running as PID ${Deno.pid} `),
    );
  } finally {
    a.release();
  }
  assert(!existsSync(a.path));
});

Deno.test("removeStaleLocks: removes lock files nobody holds (a dry run lists them), keeps held ones and anything else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const held = await acquireFileLock(`${dir}/held.tar.gz.vigo-create.lock`, "held", "work");
    await Deno.writeTextFile(`${dir}/dead.tar.gz.vigo-create.lock`, "999999999\n");
    await Deno.writeTextFile(`${dir}/other.lock`, "1\n");
    await Deno.symlink(`${dir}/elsewhere`, `${dir}/link.tar.gz.vigo-create.lock`);
    const all = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(await removeStaleLocks(dir, ".vigo-create.lock", true), [
      `${dir}/dead.tar.gz.vigo-create.lock`,
    ]);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), all, "a dry run unlinks none");
    assertEquals(await removeStaleLocks(dir, ".vigo-create.lock"), [`${dir}/dead.tar.gz.vigo-create.lock`]);
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["held.tar.gz.vigo-create.lock", "link.tar.gz.vigo-create.lock", "other.lock"],
    );
    assert(!existsSync(`${dir}/elsewhere`), "nothing created through the symlink");
    assertEquals(lockHolder(held.path), Deno.pid);
    held.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireFileLock waits out a dry-run prune's probe of a dead owner's lock file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a.tar.gz.vigo-create.lock`;
  try {
    await Deno.writeTextFile(path, "999999999\n");
    // What removeStaleLocks(…, dryRun) does for a moment: lock the file, leave it in place, release it.
    const probe = await openLockHandle(path);
    assert(probe.tryLock());
    const acquiring = acquireFileLock(path, "a.tar.gz", "create");
    await new Promise((r) => setTimeout(r, 50));
    probe.close();
    const lock = await acquiring;
    assertEquals(lockHolder(path), Deno.pid);
    lock.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquireFileLock waits out a dry-run prune's probe of an empty lock file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a.tar.gz.vigo-create.lock`;
  try {
    // Empty: a create killed between making its lock file and writing its PID left it, or one that has
    // just made it and not yet locked it when the probe came.
    await Deno.writeTextFile(path, "");
    const probe = await openLockHandle(path);
    assert(probe.tryLock());
    const acquiring = acquireFileLock(path, "a.tar.gz", "create");
    await new Promise((r) => setTimeout(r, 50));
    probe.close();
    const lock = await acquiring;
    assertEquals(lockHolder(path), Deno.pid);
    lock.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

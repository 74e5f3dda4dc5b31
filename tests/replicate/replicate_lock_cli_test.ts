/**
 * One process per target: a second `backup replicate` of a database, a `backup create` to an output
 * path, a `crate run` of a configcrate and a `backup restore` into a target that another process is
 * working on all exit 5 naming the PID that holds the lock, and touch nothing. Run against the binaries too: the Bun-compiled one
 * takes its lock through bun:ffi.
 */
import { deepStrictEqual as assertEquals, match as assertMatch, ok as assert } from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb } from "../helpers/litestream.ts";
import { acquireFileLock } from "../../lib/fsutil/file_lock.ts";
import { killReplicators, makeRoot, startReplicate } from "./replicate_env.ts";

Deno.test("lock: a second replicate of one database exits 5 naming the first one's PID", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    const first = await startReplicate(r);
    const lockPath = `${r.db}.vigo-replicate.lock`;
    assertEquals(
      Deno.readTextFileSync(lockPath).trim(),
      String(first.child.pid),
      "the lock file holds the PID",
    );
    const second = await runCli(["backup", "replicate", "--server-yaml", r.yaml, "--server-root", r.root]);
    assertEquals(second.code, 5, second.stderr);
    assertMatch(
      second.stderr,
      new RegExp(`already running as PID ${first.child.pid} \\(lock ${lockPath}\\)`),
    );
    assertEquals(second.stderr.trim().split("\n").length, 1, "one line");
    assertEquals(await first.stop("SIGTERM"), 0, first.output());
    assert(!existsSync(lockPath), "a clean stop removes the lock file");
  } finally {
    await killReplicators();
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("lock: backup create to a path and crate run of a crate that are locked exit 5, nothing written", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    const out = `${r.root}/out.tar.gz`;
    const held = await acquireFileLock(`${out}.vigo-create.lock`, out, "test");
    try {
      const c = await runCli(["backup", "create", out, "--server-yaml", r.yaml, "--server-root", r.root]);
      assertEquals(c.code, 5, c.stderr);
      assertMatch(
        c.stderr,
        new RegExp(`${out}: backup create to this path already running as PID ${Deno.pid}`),
      );
      assertEquals(readdirSync(r.root).filter((n) => n.startsWith("out")), ["out.tar.gz.vigo-create.lock"]);
    } finally {
      held.release();
    }

    const crate = `${r.root}/c.yaml`;
    await Deno.mkdir(`${r.root}/src`);
    await Deno.writeTextFile(`${r.root}/src/a`, "a");
    await Deno.writeTextFile(
      crate,
      `name: t\nresources:\n  - name: files\n    type: backup\n    source_dir: ${r.root}/src\n    target_path: ${r.root}/snaps\n    min_free_space: 1M\n`,
    );
    const lock = await acquireFileLock(`${crate}.vigo-crate.lock`, crate, "test");
    try {
      const c = await runCli(["crate", "run", crate, "--now"]);
      assertEquals(c.code, 5, c.stderr);
      assertMatch(
        c.stderr,
        new RegExp(`${crate}: crate run of this configcrate already running as PID ${Deno.pid}`),
      );
      assert(!existsSync(`${r.root}/snaps`), "nothing was snapshotted");
    } finally {
      lock.release();
    }
    const ok = await runCli(["crate", "run", crate, "--now"]);
    assertEquals(ok.code, 0, ok.stderr);
    assert(!existsSync(`${crate}.vigo-crate.lock`), "the lock file is removed after the run");
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

Deno.test("lock: a restore into a target another restore is working on exits 5, the target untouched", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    const archive = `${r.root}/a.tar.gz`;
    const made = await runCli([
      "backup",
      "create",
      archive,
      "--allow-missing-master-key",
      "--server-yaml",
      r.yaml,
      "--server-root",
      r.root,
    ]);
    assertEquals(made.code, 0, made.stderr);
    const target = `${r.root}/restored`;
    const lockPath = `${target}.vigo-restore.lock`;
    // Two restores into one target picked the same aside directory, and the one that failed rolled
    // back into it, removing what the other had moved there: the second must not start.
    const held = await acquireFileLock(lockPath, target, "test");
    try {
      const c = await runCli(["backup", "restore", archive, "--target", target]);
      assertEquals(c.code, 5, c.stderr);
      assertEquals(
        c.stderr.trim(),
        `vigocli: ${target}: a restore into this directory (or a rollback of an interrupted one) already running as PID ${Deno.pid} (lock ${lockPath})`,
      );
      assert(!existsSync(target), "nothing was restored");
    } finally {
      held.release();
    }
    const ok = await runCli(["backup", "restore", archive, "--target", `${target}/`]);
    assertEquals(ok.code, 0, ok.stderr);
    assert(existsSync(`${target}/db/vigo.db`));
    assert(!existsSync(lockPath), "the lock file is removed after the restore");
    // Through a symbolic link to the target, the same lock: beside the directory itself.
    const link = `${r.root}/via-link`;
    Deno.symlinkSync(target, link);
    const again = await acquireFileLock(lockPath, target, "test");
    try {
      const c = await runCli(["backup", "restore", archive, "--target", link]);
      assertEquals(c.code, 5, c.stderr);
    } finally {
      again.release();
    }
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});

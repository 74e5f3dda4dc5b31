/**
 * The "wrong codes and messages" of issue 11, one row each: every failure exits with its documented
 * code (11 OS failure, 3 configuration, 4 malformed input) and never 1, with a one-line message that
 * names its file. Rows marked `mount` need root (tmpfs mounts for EROFS, EBUSY and a full disk) and are
 * skipped elsewhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, UMASK_000 } from "../helpers/cli.ts";
import { makeServerRoot, type ServerFixture } from "./fixture.ts";

interface Row {
  name: string;
  mount?: boolean;
  /** Prepares the case; returns the CLI arguments (or a full command) and what must match stderr. */
  run(fx: ServerFixture, scratch: string): Promise<{ code: number; stderr: string }>;
  code: number;
  message: RegExp;
}

const sh = async (cmd: string, ...args: string[]) => {
  const r = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
};
const mounts: string[] = [];
async function tmpfs(dir: string, size: string, readOnly = false): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await sh("mount", "-t", "tmpfs", "-o", `size=${size}${readOnly ? ",ro" : ""}`, "tmpfs", dir);
  mounts.push(dir);
}
async function canMount(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  const dir = await Deno.makeTempDir({ prefix: "vigo-mount-probe-" });
  try {
    await tmpfs(dir, "64k");
    await sh("umount", mounts.pop()!);
    return true;
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function withDatabaseAt(fx: ServerFixture, path: string) {
  await Deno.writeTextFile(fx.serverYaml, `database:\n  driver: sqlite\n  path: ${path}\n`);
}

/** A copy of the fixture database in rollback-journal mode, left with a hot journal by a killed writer. */
async function hotJournalDb(fx: ServerFixture, scratch: string): Promise<string> {
  const db = join(scratch, "hot.db");
  await sh("sqlite3", fx.db, `VACUUM INTO '${db}'`);
  await sh("sqlite3", db, "PRAGMA journal_mode=DELETE");
  const writer = new Deno.Command("sqlite3", { args: [db], stdin: "piped", stdout: "piped" }).spawn();
  const w = writer.stdin.getWriter();
  await w.write(
    new TextEncoder().encode(
      "PRAGMA cache_size=1;\nBEGIN;\nUPDATE t SET v = randomblob(300);\nSELECT 'spilled';\n",
    ),
  );
  await writer.stdout.getReader().read();
  writer.kill("SIGKILL");
  await writer.status;
  await w.close().catch(() => {});
  assert.ok((await Deno.stat(`${db}-journal`)).size > 0, "the journal is hot");
  return db;
}

const rows: Row[] = [
  {
    name: "database.path is a directory",
    run: async (fx, s) => {
      await withDatabaseAt(fx, s);
      return runCli(["backup", "create", ...fx.flags, join(fx.root, "snapshots/a.tar.gz")]);
    },
    code: 3,
    message: /: database\.path is a directory, not a regular file/,
  },
  {
    name: "database.path longer than PATH_MAX",
    run: async (fx) => {
      await withDatabaseAt(fx, join(fx.root, "d/".repeat(2100), "vigo.db"));
      return runCli(["backup", "create", ...fx.flags, join(fx.root, "snapshots/a.tar.gz")]);
    },
    code: 11,
    message: /vigo\.db: file name too long/,
  },
  {
    name: "paths.snapshots is a regular file (list and prune: snapshots_not_directory_cli_test)",
    run: async (fx) => {
      await Deno.remove(join(fx.root, "snapshots"));
      await Deno.writeTextFile(join(fx.root, "snapshots"), "x\n");
      return runCli(["backup", "create", ...fx.flags]);
    },
    code: 11,
    message: /snapshots: not a directory; the archive cannot be written there$/,
  },
  {
    name: "restore --target below a regular file, and a dry run of it",
    run: async (fx, s) => {
      const archive = join(s, "t.tar.gz");
      assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
      await Deno.writeTextFile(join(s, "file"), "x\n");
      const dry = await runCli(["backup", "restore", archive, "--target", join(s, "file/sub"), "--dry-run"]);
      assert.equal(dry.code, 4, dry.stderr);
      return runCli(["backup", "restore", archive, "--target", join(s, "file/sub")]);
    },
    code: 4,
    message: /\/file: not a directory \(\S+\/file\/sub cannot be made in it\)$/,
  },
  {
    name: "restore --target a symbolic link to nothing",
    run: async (fx, s) => {
      const archive = join(s, "t.tar.gz");
      assert.equal((await runCli(["backup", "create", ...fx.flags, archive])).code, 0);
      await Deno.symlink(join(s, "nowhere"), join(s, "link"));
      return runCli(["backup", "restore", archive, "--target", join(s, "link"), "--db-only"]);
    },
    code: 4,
    message: /\/link: a symbolic link to nothing \(restore only writes inside the target\)$/,
  },
  {
    name: "a hot rollback journal",
    run: async (fx, s) => {
      await withDatabaseAt(fx, await hotJournalDb(fx, s));
      return runCli(["backup", "create", ...fx.flags, join(fx.root, "snapshots/a.tar.gz")]);
    },
    code: 4,
    message: /hot\.db: has a hot rollback journal/,
  },
  {
    name: ".master.key pointing at /dev/zero",
    run: async (fx) => {
      await Deno.remove(join(fx.root, "secrets/.master.key"));
      await Deno.symlink("/dev/zero", join(fx.root, "secrets/.master.key"));
      return runCli(["secret", "get", "vigo/backup/aws_access_key", "--server-root", fx.root], {
        timeoutMs: 30_000,
      });
    },
    code: 4,
    message: /\.master\.key: the master key is a device, not a regular file/,
  },
  {
    name: "crate source_dir == target_path",
    run: async (fx, s) => {
      const crate = join(s, "c.yaml");
      await Deno.writeTextFile(
        crate,
        `name: c\nresources:\n  - {name: r, type: backup, source_dir: ${fx.root}, target_path: ${fx.root}}\n`,
      );
      return runCli(["crate", "run", crate, "--now"]);
    },
    code: 3,
    message: /c\.yaml: resource "r": source_dir .* is target_path/,
  },
  {
    name: "not a valid gzip stream",
    run: async (fx) => {
      const bad = join(fx.root, "snapshots/garbage.tar.gz");
      await Deno.writeFile(bad, new Uint8Array([0x1f, 0x8b, 8, 0, ...new Uint8Array(200).fill(7)]));
      return runCli(["backup", "restore", bad, "--target", join(fx.root, "t")]);
    },
    code: 4,
    message: /garbage\.tar\.gz: .*not a valid gzip stream|garbage\.tar\.gz: .*gzip/,
  },
  {
    name: "read-only file system (EROFS)",
    mount: true,
    run: async (fx, s) => {
      const archive = await goodArchive(fx);
      const target = join(s, "ro");
      await tmpfs(target, "1m", true);
      return runCli(["backup", "restore", archive, "--target", target]);
    },
    code: 11,
    message: /ro.*: read-only file system/,
  },
  {
    name: "a mount point inside the target (another filesystem: refused before extracting)",
    mount: true,
    run: async (fx, s) => {
      const archive = await goodArchive(fx);
      const target = join(s, "busy");
      await Deno.mkdir(join(target, "tls"), { recursive: true });
      await tmpfs(join(target, "tls"), "64k");
      return runCli(["backup", "restore", archive, "--target", target]);
    },
    code: 11,
    message: /busy\/tls: on another filesystem than .*busy \(a mount point\)/,
  },
  {
    name: "disk full while copying the database",
    mount: true,
    run: async (fx, s) => {
      const out = join(s, "full");
      await tmpfs(out, "32k");
      return runCli(["backup", "create", ...fx.flags, join(out, "a.tar.gz")]);
    },
    code: 11,
    message: /full\/.*: no space left on device/,
  },
  {
    name: "disk full while writing the archive",
    mount: true,
    run: async (fx, s) => {
      // The archive of the ~180 KiB database (random rows, incompressible) does not fit.
      const out = join(s, "half");
      await tmpfs(out, "64k");
      return runCli(["backup", "create", ...fx.flags, join(out, "a.tar.gz")]);
    },
    code: 11,
    message: /half\/a\.tar\.gz: no space left on device/,
  },
];

async function goodArchive(fx: ServerFixture): Promise<string> {
  const out = join(fx.root, "snapshots", `good-${crypto.randomUUID()}.tar.gz`);
  const r = await runCli(["backup", "create", ...fx.flags, out]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

Deno.test("wrong codes and messages: each case exits with its code and names its file", async () => {
  const mountable = await canMount();
  const failures: string[] = [];
  for (const row of rows) {
    if (row.mount && !mountable) {
      console.error(`exit codes: "${row.name}" skipped (needs root and tmpfs mounts)`);
      continue;
    }
    const fx = await makeServerRoot({ rows: 500 });
    const scratch = await Deno.makeTempDir({ prefix: "vigo-codes-" });
    try {
      const r = await row.run(fx, scratch);
      const line = r.stderr.trim();
      if (Deno.env.get("SHOW")) console.error(`${row.name}: ${r.code} ${line}`);
      if (r.code !== row.code || !row.message.test(line) || line.split("\n").length !== 1) {
        failures.push(`${row.name}: exit ${r.code} (want ${row.code}): ${line}`);
      }
    } finally {
      while (mounts.length > 0) await sh("umount", mounts.pop()!);
      await Deno.remove(fx.root, { recursive: true });
      await Deno.remove(scratch, { recursive: true });
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("a symlinked target directory is followed; a new target is never world-writable", async () => {
  const fx = await makeServerRoot({ rows: 20 });
  const scratch = await Deno.makeTempDir({ prefix: "vigo-codes-" });
  try {
    const archive = await goodArchive(fx);
    await Deno.mkdir(join(scratch, "real"));
    await Deno.symlink(join(scratch, "real"), join(scratch, "link"));
    const r = await runCli(["backup", "restore", archive, "--target", join(scratch, "link")]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await Deno.stat(join(scratch, "real/db/vigo.db"))).isFile);

    const fresh = join(scratch, "fresh");
    const u = await runCli(["backup", "restore", archive, "--target", fresh], { via: UMASK_000 });
    assert.equal(u.code, 0, u.stderr);
    assert.equal((await Deno.stat(fresh)).mode! & 0o777, 0o755);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
    await Deno.remove(scratch, { recursive: true });
  }
});

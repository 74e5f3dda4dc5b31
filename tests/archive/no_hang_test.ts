/**
 * Nothing blocks unboundedly: a FIFO as database.path, as an archive or as .master.key is refused
 * before it is opened (open(2) on a FIFO waits for a writer forever); a database locked with
 * `locking_mode=EXCLUSIVE` makes create give up after --lock-timeout (exit 5), and Ctrl-C during
 * that wait exits 130 at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

const mkfifo = async (path: string) => {
  const r = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(r.code, 0);
};

Deno.test("FIFOs are refused before they are opened: database.path (3), archive (4), .master.key (4)", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    const fifoDb = join(fx.root, "db/fifo.db");
    await mkfifo(fifoDb);
    await Deno.writeTextFile(fx.serverYaml, `database:\n  driver: sqlite\n  path: ${fifoDb}\n`);
    const c = await runCli(["backup", "create", ...fx.flags, join(fx.root, "snapshots/x.tar.gz")], {
      timeoutMs: 30_000,
    });
    assert.equal(c.code, 3, c.stderr);
    assert.match(c.stderr, /fifo\.db: database\.path is a FIFO \(named pipe\), not a regular file/);
    // The dry run says what create would: it hung here, reading the FIFO for the database's size.
    const dry = await runCli(["backup", "create", ...fx.flags, "--dry-run"], { timeoutMs: 30_000 });
    assert.equal(dry.code, 3, dry.stderr);
    assert.match(dry.stderr, /fifo\.db: database\.path is a FIFO \(named pipe\), not a regular file/);

    const fifoArchive = join(fx.root, "snapshots/pipe.tar.gz");
    await mkfifo(fifoArchive);
    for (const cmd of [["inspect"], ["verify"], ["restore", "--dry-run", "--target", join(fx.root, "t")]]) {
      const r = await runCli(["backup", cmd[0], fifoArchive, ...cmd.slice(1)], { timeoutMs: 30_000 });
      assert.equal(r.code, 4, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, /pipe\.tar\.gz: archive is a FIFO/);
    }

    await Deno.remove(join(fx.root, "secrets/.master.key"));
    await mkfifo(join(fx.root, "secrets/.master.key"));
    const g = await runCli(["secret", "get", "vigo/backup/aws_access_key", "--server-root", fx.root], {
      timeoutMs: 30_000,
    });
    assert.equal(g.code, 4, g.stderr);
    assert.match(g.stderr, /\.master\.key: the master key is a FIFO/);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("a sidecar or restore journal that is a FIFO, a link to /dev/zero or huge is refused (4), not waited on or read whole", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  try {
    const archive = join(fx.root, "snapshots/x.tar.gz");
    const made = await runCli(["backup", "create", ...fx.flags, archive]);
    assert.equal(made.code, 0, made.stderr);
    const sidecar = `${archive}.sha256`;
    const target = join(fx.root, "t");
    await Deno.mkdir(target);
    // Each kind of bad file in place of the sidecar, then of a killed restore's journal.
    const kinds: [string, (path: string) => Promise<void>, RegExp][] = [
      ["FIFO", mkfifo, /is a FIFO \(named pipe\), not a regular file/],
      ["/dev/zero", (path) => Deno.symlink("/dev/zero", path), /is a device, not a regular file/],
      ["3 GiB sparse file", async (path) => {
        await Deno.writeFile(path, new Uint8Array());
        await Deno.truncate(path, 3 * 1024 ** 3);
      }, /is larger than \d+ bytes/],
    ];
    for (const [kind, make, says] of kinds) {
      await Deno.remove(sidecar);
      await make(sidecar);
      for (const cmd of [["verify"], ["restore", "--target", target]]) {
        const r = await runCli(["backup", cmd[0], archive, ...cmd.slice(1)], { timeoutMs: 30_000 });
        assert.equal(r.code, 4, `${kind} sidecar, ${cmd[0]}: ${r.stderr}`);
        assert.equal(r.stderr.split("\n").length, 2, r.stderr);
        assert.match(r.stderr, new RegExp(`x\\.tar\\.gz\\.sha256: sidecar ${says.source}`));
      }
    }
    await Deno.remove(sidecar);
    // A killed restore's journal is read first by a restore into its target and by a create of that root.
    const runs: [string, string[]][] = [
      [target, ["restore", archive, "--target", target]],
      [fx.root, ["create", ...fx.flags, join(fx.root, "snapshots/y.tar.gz")]],
    ];
    for (const [kind, make, says] of kinds) {
      for (const [dir, args] of runs) {
        const journal = join(dir, ".restore-journal-999997.json");
        await make(journal);
        const r = await runCli(["backup", ...args], { timeoutMs: 30_000 });
        await Deno.remove(journal);
        assert.equal(r.code, 4, `${kind} journal, ${args[0]}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(`999997\\.json: restore journal ${says.source}; inspect and remove it by hand`),
        );
      }
    }
    // A password file may be a pipe (`<(pass show …)`), so only its size is asked: /dev/zero is refused.
    const enc = join(fx.root, "snapshots/e.tar.gz");
    const pw = join(fx.root, "pw");
    await Deno.writeTextFile(pw, "pw\n", { mode: 0o600 });
    const sealed = await runCli(["backup", "create", ...fx.flags, enc, "--encrypt", "--password-file", pw]);
    assert.equal(sealed.code, 0, sealed.stderr);
    const zero = await runCli(["backup", "verify", enc, "--password-file", "/dev/zero"], {
      timeoutMs: 30_000,
    });
    assert.equal(zero.code, 6, zero.stderr);
    assert.match(zero.stderr, /\/dev\/zero: password file is larger than 65536 bytes/);
    const piped = await runCli(["backup", "verify", enc, "--password-file", "/dev/stdin"], { stdin: "pw\n" });
    assert.equal(piped.code, 0, piped.stderr);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

/** Resolves once process `pid` has `path` open (its SQLite connection), or has ended. */
async function untilOpen(pid: number, path: string): Promise<void> {
  const real = await Deno.realPath(path);
  for (;;) {
    let fds: string[];
    try {
      fds = [...Deno.readDirSync(`/proc/${pid}/fd`)].map((e) => e.name);
    } catch {
      return; // ended: what follows says how
    }
    if (fds.length === 0) return; // ended, not yet reaped
    for (const fd of fds) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${fd}`) === real) return;
      } catch {
        // closed while it was listed
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A sqlite3 process holding `db` with locking_mode=EXCLUSIVE until its stdin closes. */
async function exclusiveHolder(db: string) {
  const holder = new Deno.Command("sqlite3", { args: [db], stdin: "piped", stdout: "piped" }).spawn();
  const w = holder.stdin.getWriter();
  await w.write(
    new TextEncoder().encode("PRAGMA locking_mode=EXCLUSIVE;\nBEGIN EXCLUSIVE;\nSELECT 'held';\n"),
  );
  const reader = holder.stdout.getReader();
  await reader.read(); // "held": the lock is taken
  return {
    async release() {
      await w.close();
      reader.releaseLock();
      await holder.stdout.cancel();
      await holder.status;
    },
  };
}

Deno.test("create waits at most --lock-timeout for an EXCLUSIVE lock (exit 5), and Ctrl-C ends the wait (130)", async () => {
  const fx = await makeServerRoot({ rows: 5 });
  const holder = await exclusiveHolder(fx.db);
  try {
    let t0 = performance.now();
    const r = await runCli(
      ["backup", "create", ...fx.flags, "--lock-timeout", "1s", join(fx.root, "snapshots/a.tar.gz")],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /vigo\.db: database is locked by another process; gave up after 1 s/);
    assert.ok(performance.now() - t0 < 20_000, `took ${performance.now() - t0} ms`);

    const child = spawnCli(["backup", "create", ...fx.flags, join(fx.root, "snapshots/b.tar.gz")]);
    // Inside the default 30 s wait once its connection has the database open. A fixed 3 s was, on a
    // loaded machine, still in the runtime's start-up, whose handler answers 130 too.
    await untilOpen(child.pid, fx.db);
    t0 = performance.now();
    child.kill("SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, stderr);
    // create's own handler, not the start-up one ('interrupted (SIGINT)' alone).
    assert.match(stderr, /interrupted \(SIGINT\); temporary files removed/);
    assert.ok(performance.now() - t0 < 5000, `SIGINT took ${performance.now() - t0} ms`);
  } finally {
    await holder.release();
    await Deno.remove(fx.root, { recursive: true });
  }
});

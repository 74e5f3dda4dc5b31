/**
 * The pinned database image (lib/sqlite/pinned_database.ts) against SQLite itself: the image must be
 * byte for byte the database file SQLite makes of the same snapshot by checkpointing it, whatever
 * mix of WAL frames and database-file pages the snapshot is made of, and whatever writers and
 * checkpointers do while it is pinned.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { existsSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { PinnedDatabase } from "../../lib/sqlite/pinned_database.ts";
import { keptDescriptor } from "../../lib/sqlite/kept_descriptor.ts";
import { inspectDatabase } from "../../lib/sqlite/database_facts.ts";
import { BusyError } from "../../lib/errors.ts";
import { beginReadWhenFree } from "../../lib/sqlite/read_lock.ts";
import { concatBytes } from "../../lib/bytes.ts";
import { startSqlite3CliWriter } from "../helpers/sqlite_writer.ts";

/**
 * Reads a live file through a kept descriptor: opening and closing one would drop the locks of this
 * process's SQLite connections (lib/sqlite/kept_descriptor.ts).
 */
function readLive(path: string): Uint8Array {
  const fd = keptDescriptor(path);
  if (fd === null) return new Uint8Array(0);
  const out = new Uint8Array(statSync(path).size);
  for (let off = 0; off < out.length;) off += readSync(fd, out, off, out.length - off, off);
  return out;
}

/** The file SQLite makes of the database's current committed state: a copy, checkpointed. */
function reference(dbPath: string, dir: string): Uint8Array {
  const copy = join(dir, `ref-${crypto.randomUUID()}.db`);
  Deno.writeFileSync(copy, readLive(dbPath));
  Deno.writeFileSync(`${copy}-wal`, readLive(`${dbPath}-wal`));
  const db = new DatabaseSync(copy);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return Deno.readFileSync(copy);
}

/** The image in one piece (each chunk copied before the next one reuses the buffer). */
function image(p: PinnedDatabase): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const chunk of p.chunks()) parts.push(chunk.slice());
  return concatBytes(parts);
}

function writer(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
  db.exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)");
  return db;
}

function insert(db: DatabaseSync, rows: number, bytes = 3000): void {
  db.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<${rows})
    INSERT INTO t(v) SELECT randomblob(${bytes}) FROM c`);
}

/** A WAL database written by `w` (autocheckpoint off) in a scratch directory, removed afterwards. */
async function withWalDatabase(
  fn: (path: string, dir: string, w: DatabaseSync) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "live.db");
  const w = writer(path);
  try {
    await fn(path, dir, w);
  } finally {
    w.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Runs `fn` while `path` is pinned, and checks the pinned snapshot's integrity. */
async function whilePinned(path: string, fn: (p: PinnedDatabase) => Promise<void> | void): Promise<void> {
  const p = await PinnedDatabase.pin(path, 1000);
  try {
    await fn(p);
    assert.equal(await p.integrity(), "ok");
  } finally {
    await p.release();
  }
}

function assertSameBytes(got: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(got.length, expected.length, `${what}: length`);
  assert.ok(got.every((b, i) => b === expected[i]), `${what}: bytes differ`);
}

Deno.test("pinned image: pages from the WAL (grown, overwritten) equal the checkpointed file", async () => {
  await withWalDatabase(async (path, dir, w) => {
    insert(w, 300);
    w.exec("UPDATE t SET v = randomblob(100) WHERE id % 7 = 0");
    insert(w, 50);
    const expected = reference(path, dir);
    await whilePinned(path, (p) => {
      const got = image(p);
      assert.equal(got.length, p.size);
      assertSameBytes(got, expected, "image vs the checkpointed file");
      // The database file alone is not the snapshot: the WAL's pages were needed.
      assert.notDeepEqual(readLive(path).subarray(0, 4096 * 4), got.subarray(0, 4096 * 4));
    });
  });
});

Deno.test("pinned image: writes and checkpoints after the pin do not reach it", async () => {
  await withWalDatabase(async (path, dir, w) => {
    const other = new DatabaseSync(path);
    try {
      insert(w, 200);
      // Half of the WAL backfilled already: the pin meets 0 < nBackfill < mxFrame.
      w.exec("PRAGMA wal_checkpoint(PASSIVE)");
      w.exec("UPDATE t SET v = randomblob(2000) WHERE id % 3 = 0");
      const expected = reference(path, dir);
      await whilePinned(path, (p) => {
        const first = image(p);
        insert(w, 100);
        w.exec("UPDATE t SET v = randomblob(10) WHERE id % 2 = 0");
        // Backfills what it may, never past the pin's snapshot.
        other.exec("PRAGMA busy_timeout=0");
        other.exec("PRAGMA wal_checkpoint(PASSIVE)");
        assertSameBytes(first, expected, "first pass");
        assertSameBytes(image(p), first, "second pass");
      });
    } finally {
      other.close();
    }
  });
});

Deno.test("pinned image: a fully checkpointed WAL, then a WAL restart under the pin", async () => {
  await withWalDatabase(async (path, dir, w) => {
    insert(w, 200);
    w.exec("PRAGMA wal_checkpoint(PASSIVE)");
    const expected = reference(path, dir);
    await whilePinned(path, (p) => {
      // The WAL was fully backfilled, so the writer may start it again from frame 1 now.
      insert(w, 100);
      w.exec("DELETE FROM t WHERE id % 2 = 1");
      w.exec("PRAGMA wal_checkpoint(PASSIVE)");
      assertSameBytes(image(p), expected, "image vs the checkpointed file");
    });
  });
});

Deno.test("pinned image: a database that shrank in the WAL (VACUUM) is cut to its pages", async () => {
  await withWalDatabase(async (path, dir, w) => {
    insert(w, 400);
    w.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    w.exec("DELETE FROM t WHERE id > 50");
    w.exec("VACUUM");
    const expected = reference(path, dir);
    assert.ok(statSync(path).size > expected.length, "the file is still longer than the database");
    await whilePinned(path, (p) => assertSameBytes(image(p), expected, "image vs the checkpointed file"));
  });
});

Deno.test("pinned image: a rollback-journal database is copied under a brief pin, writers go on", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "live.db");
  const w = new DatabaseSync(path);
  try {
    w.exec(
      "PRAGMA journal_mode=DELETE; PRAGMA busy_timeout=0; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)",
    );
    insert(w, 100);
    let removed = "";
    const p = await PinnedDatabase.pin(path, 1000, () => {
      const copyDir = Deno.makeTempDirSync({ dir });
      return {
        path: join(copyDir, "copy.db"),
        dir: copyDir,
        sweep: "removal by hand",
        remove: () => {
          removed = copyDir;
          Deno.removeSync(copyDir, { recursive: true });
        },
      };
    });
    try {
      // A pin held for the whole create would keep this writer out (SQLITE_BUSY: no busy timeout).
      insert(w, 50);
      // SQLite's online backup rewrites the header's counters, so the copy is compared by content.
      Deno.writeFileSync(join(dir, "image.db"), image(p));
      assert.equal(await p.integrity(), "ok");
    } finally {
      await p.release();
    }
    assert.ok(removed !== "" && !existsSync(removed), "the copy is removed on release");
    const copy = new DatabaseSync(`file:${join(dir, "image.db")}?immutable=1`, { readOnly: true });
    const rows = (copy.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;
    copy.close();
    assert.equal(rows, 100, "the image is the database as pinned, before the 50 later rows");
    assert.equal(inspectDatabase(join(dir, "image.db")).integrity, "ok");
  } finally {
    w.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("pinned image: under a native writer with checkpoints, every image is a whole database", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "live.db");
  const setup = new DatabaseSync(path);
  setup.exec("PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB, n INTEGER)");
  setup.close();
  const live = startSqlite3CliWriter(path, { txPerSecond: 800, rowBytes: 500 });
  let last = 0;
  try {
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 150));
      const p = await PinnedDatabase.pin(path, 5000);
      const copy = join(dir, `image-${i}.db`);
      try {
        Deno.writeFileSync(copy, image(p));
        assert.deepEqual(await p.integrity(), "ok");
      } finally {
        await p.release();
      }
      assert.deepEqual(inspectDatabase(copy).integrity, "ok", `image ${i}`);
      const db = new DatabaseSync(`file:${copy}?immutable=1`, { readOnly: true });
      const row = db.prepare("SELECT count(*) AS n, coalesce(max(id), 0) AS m FROM t").get() as {
        n: number;
        m: number;
      };
      db.close();
      // Rows are only ever appended (and updated): a whole snapshot has ids 1..n without a gap.
      assert.deepEqual(row.n, row.m, `image ${i}: ${row.n} rows, max id ${row.m}`);
      assert.ok(row.n >= last, `image ${i} went back in time`);
      last = row.n;
    }
  } finally {
    await live.stop();
    Deno.removeSync(dir, { recursive: true });
  }
  assert.ok(last > 0, "the writer wrote");
});

Deno.test("pinned image: a database locked by another process is BusyError after the timeout", async () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "live.db");
  writer(path).close();
  const holder = new Deno.Command("sqlite3", {
    args: ["-batch", path],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const stdin = holder.stdin.getWriter();
  try {
    await stdin.write(
      new TextEncoder().encode("PRAGMA locking_mode=EXCLUSIVE;\nBEGIN EXCLUSIVE;\nSELECT 'held';\n"),
    );
    const reader = holder.stdout.getReader();
    await reader.read(); // "held": the lock is taken
    reader.releaseLock();
    const started = Date.now();
    await assert.rejects(
      () => PinnedDatabase.pin(path, 300),
      (e) => e instanceof BusyError && /locked by another process/.test(e.message),
    );
    assert.ok(Date.now() - started < 5000, `gave up after ${Date.now() - started} ms`);
    // A crate dump's read (its one caller) points at no option: crate run has no --lock-timeout.
    const db = new DatabaseSync(path);
    try {
      await assert.rejects(() => beginReadWhenFree(db, path, 300), (e) => {
        assert.ok(e instanceof BusyError, String(e));
        assert.equal(e.message, `${path}: database is locked by another process; gave up after 0 s`);
        return true;
      });
    } finally {
      db.close();
    }
  } finally {
    await stdin.close();
    await holder.status;
    await holder.stdout.cancel().catch(() => {});
    Deno.removeSync(dir, { recursive: true });
  }
});

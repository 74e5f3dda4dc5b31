/**
 * Restore from hand-built replicas whose every object and time the test controls: latest state,
 * point in time, gaps, Litestream's known restore failures (#564, #631, #805), corruption, and
 * the same replica restored by the real `litestream restore` to prove our formats are its formats.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { replicaClientFor } from "../../lib/litestream/backend_replica_client.ts";
import { snapshotKey, walSegmentKey } from "../../lib/litestream/paths.ts";
import { type RestoreOptions, restoreReplica } from "../../lib/litestream/restore.ts";
import { listReplica } from "../../lib/litestream/replica_list.ts";
import { BadInputError, ExistsError, NotFoundError, type VigoError } from "../../lib/errors.ts";
import { buildReplica, type MadeObject } from "./handmade_replica.ts";
import { integrityCheck, litestreamRestore, rowIds } from "../helpers/litestream.ts";

const GEN = "3a5b7c9d1e2f4a6b";
const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;

interface Fixture {
  dir: string;
  root: string;
  backend: FileBackend;
  made: MadeObject[];
  out: (name: string) => string;
}

function keyOf(gen: string, o: MadeObject): string {
  return o.kind === "snapshot" ? snapshotKey(gen, o.index) : walSegmentKey(gen, o.index, o.offset);
}

/** Gives the objects of `gen` creation times `start`, `start+1min`, … in creation order. */
async function setTimes(root: string, gen: string, made: MadeObject[], start: number): Promise<Date[]> {
  const times: Date[] = [];
  for (const [i, o] of made.entries()) {
    const t = new Date(start + i * MIN);
    await Deno.utime(`${root}/${keyOf(gen, o)}`, t, t);
    times.push(t);
  }
  return times;
}

async function fixture(secondSnapshot = false): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "vigo-restore-" });
  const root = `${dir}/replica`;
  const backend = new FileBackend(`file://${root}`);
  const made = await buildReplica(replicaClientFor(backend), GEN, dir, secondSnapshot);
  return { dir, root, backend, made, out: (n) => `${dir}/${n}` };
}

async function restore(f: Fixture, name: string, o: Partial<RestoreOptions> = {}) {
  return await restoreReplica(replicaClientFor(f.backend), { outputPath: f.out(name), ...o });
}

async function failure(p: Promise<unknown>): Promise<VigoError> {
  try {
    await p;
  } catch (err) {
    return err as VigoError;
  }
  throw new Error("expected the restore to fail");
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

Deno.test("restore latest: every row, integrity ok; litestream restores the same replica identically", async () => {
  const f = await fixture();
  try {
    const r = await restore(f, "ours.db");
    assertEquals(await rowIds(f.out("ours.db")), range(1, 90));
    assertEquals(await integrityCheck(f.out("ours.db")), "ok");
    assertEquals([r.generation, r.snapshotIndex, r.segments], [GEN, 0, 5]);
    const ls = await litestreamRestore({ url: `file://${f.root}`, out: f.out("theirs.db") });
    assertEquals(ls.code, 0, ls.stderr + ls.stdout);
    assertEquals(await rowIds(f.out("theirs.db")), range(1, 90));
    const err = await failure(restore(f, "ours.db"));
    assert(err instanceof ExistsError, String(err));
    await Deno.writeFile(f.out("new.db-wal"), new Uint8Array(10));
    assert((await failure(restore(f, "new.db"))) instanceof ExistsError);
    assertEquals([...Deno.readDirSync(f.dir)].filter((e) => e.name.startsWith(".")), []);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("point in time: between segments, exactly at one, before everything, and long after the last write (#564)", async () => {
  const f = await fixture();
  try {
    const t = await setTimes(f.root, GEN, f.made, T0); // snapshot, seg00a, seg00b, seg01a, seg01b, seg01c
    await restore(f, "a.db", { timestamp: new Date(+t[2] + 30_000) });
    assertEquals(await rowIds(f.out("a.db")), range(1, 70));
    await restore(f, "b.db", { timestamp: t[3] });
    assertEquals(await rowIds(f.out("b.db")), range(1, 80));
    await restore(f, "c.db", { timestamp: new Date(+t[0] + 1000) });
    assertEquals(await rowIds(f.out("c.db")), range(1, 50));
    const quiet = new Date(+t[5] + 24 * 60 * MIN);
    await restore(f, "d.db", { timestamp: quiet });
    assertEquals(await rowIds(f.out("d.db")), range(1, 90));
    const early = await failure(restore(f, "e.db", { timestamp: new Date(T0 - MIN) }));
    assert(early instanceof NotFoundError && /no snapshot at or before/.test(early.message), early.message);
    // Litestream agrees between segments, and fails on the quiet-database timestamp (its #564).
    const ls = await litestreamRestore({
      url: `file://${f.root}`,
      out: f.out("ls.db"),
      timestamp: new Date(+t[2] + 30_000).toISOString().replace(/\.\d+Z$/, "Z"),
    });
    assertEquals(ls.code, 0, ls.stderr);
    assertEquals(await rowIds(f.out("ls.db")), range(1, 70));
    const ls564 = await litestreamRestore({
      url: `file://${f.root}`,
      out: f.out("ls2.db"),
      timestamp: quiet.toISOString(),
    });
    assert(ls564.code !== 0 && /no matching backups/.test(ls564.stderr + ls564.stdout));
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("a missing WAL segment is a clear error, never an older database", async () => {
  const f = await fixture(); // snapshot, s00a, s00b, s01a, s01b, s01c
  try {
    await Deno.remove(`${f.root}/${keyOf(GEN, f.made[4])}`); // middle of index 1
    const err = await failure(restore(f, "gap.db"));
    assert(err instanceof BadInputError, String(err));
    assert(err.message.includes("WAL gap"), err.message);
    assert(err.message.includes("restore up to it with --timestamp"), err.message);
    assert(err.message.includes(keyOf(GEN, f.made[5])), err.message);
    assert(!(await Deno.stat(f.out("gap.db")).catch(() => null)));
    assertEquals([...Deno.readDirSync(f.dir)].filter((e) => e.name.startsWith(".")), []);
    // The first segment of the snapshot's index missing: named, with the way out.
    await Deno.remove(`${f.root}/${keyOf(GEN, f.made[1])}`);
    const err2 = await failure(restore(f, "gap2.db"));
    assert(
      /the segment at offset 0 \(00000000_00000000.wal.lz4\) is missing/.test(err2.message),
      err2.message,
    );
    // A whole index missing.
    await Deno.remove(`${f.root}/${keyOf(GEN, f.made[2])}`);
    const err3 = await failure(restore(f, "gap3.db"));
    assert(/WAL index 00000000 is missing entirely/.test(err3.message), err3.message);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("a half-pruned WAL index before the snapshot does not matter (#224, #535, #805)", async () => {
  const f = await fixture(true); // snapshot, seg00a, seg00b, snapshot1, seg01a, seg01b
  try {
    await setTimes(f.root, GEN, f.made, T0);
    await Deno.remove(`${f.root}/${keyOf(GEN, f.made[1])}`); // retention removed 00000000_00000000 only
    const r = await restore(f, "ok.db");
    assertEquals(r.snapshotIndex, 1);
    assertEquals(await rowIds(f.out("ok.db")), range(1, 90));
    const ls = await litestreamRestore({ url: `file://${f.root}`, out: f.out("ls.db") });
    assert(ls.code !== 0 && /missing initial wal segment/.test(ls.stderr + ls.stdout), ls.stderr);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("a point in time inside the snapshot's own WAL index restores from the older snapshot", async () => {
  const f = await fixture(true);
  try {
    const t = await setTimes(f.root, GEN, f.made, T0); // ..., snapshot1 at t[3], seg01a t[4], seg01b t[5], ...
    const r = await restore(f, "pit.db", { timestamp: new Date(+t[4] + 1000) });
    assertEquals(r.snapshotIndex, 0);
    assertEquals(r.warnings, []);
    assertEquals(await rowIds(f.out("pit.db")), range(1, 80));
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("generation choice: newest data wins, not the largest ID; a generation without snapshot is skipped (#631)", async () => {
  const f = await fixture();
  try {
    const client = replicaClientFor(f.backend);
    const older = "ffffffffffffffff";
    const madeOld = await buildReplica(client, older, f.dir);
    await setTimes(f.root, GEN, f.made, T0 + 60 * MIN);
    await setTimes(f.root, older, madeOld, T0);
    // newest of all: WAL without a snapshot (its snapshot upload never happened)
    await client.writeWalSegment(
      { generation: "0000000000000001", index: 0, offset: 0 },
      new Uint8Array([1]),
    );
    // newer still: only an empty snapshot object (Litestream creates sftp snapshots empty, then fills them)
    const emptyOnly = "0000000000000002";
    await Deno.mkdir(`${f.root}/generations/${emptyOnly}/snapshots`, { recursive: true });
    await Deno.writeFile(`${f.root}/${snapshotKey(emptyOnly, 0)}`, new Uint8Array());
    const r = await restore(f, "pick.db");
    assertEquals(r.generation, GEN);
    const older1 = await restore(f, "old.db", { generation: older });
    assertEquals(older1.generation, older);
    const at = await restore(f, "at.db", { timestamp: new Date(T0 + 30 * MIN) });
    assertEquals(at.generation, older);
    const list = await listReplica(client);
    assertEquals(list.latestGeneration, GEN);
    assertEquals(list.generations.map((g) => g.generation), [
      "ffffffffffffffff",
      GEN,
      "0000000000000001",
      emptyOnly,
    ]);
    assertEquals(list.generations[1].walFirst, { index: 0, offset: 0 });
    assertEquals(list.generations[1].walSegments, 5);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("corrupt objects are named errors", async () => {
  const f = await fixture();
  try {
    const key = keyOf(GEN, f.made[3]);
    const bytes = await Deno.readFile(`${f.root}/${key}`);
    bytes[bytes.length - 20] ^= 0xff;
    await Deno.writeFile(`${f.root}/${key}`, bytes);
    const err = await failure(restore(f, "bad.db"));
    assert(err instanceof BadInputError && err.message.includes(key), String(err));
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("a snapshot whose content checksum differs fails by name and leaves nothing behind", async () => {
  const f = await fixture();
  try {
    const snap = f.made.findIndex((o) => o.kind === "snapshot");
    const key = keyOf(GEN, f.made[snap]);
    const good = await Deno.readFile(`${f.root}/${key}`);
    // The frame ends with the end mark and the xxHash32 of the content;
    // then a byte of the compressed content itself.
    for (const at of [good.length - 1, Math.floor(good.length / 2)]) {
      const bytes = good.slice();
      bytes[at] ^= 0x01;
      await Deno.writeFile(`${f.root}/${key}`, bytes);
      const err = await failure(restore(f, "bad.db"));
      assert(err instanceof BadInputError && err.message.includes(key), `byte ${at}: ${err}`);
      const left = [...Deno.readDirSync(f.dir)].map((e) => e.name).filter((n) => n !== "replica");
      assertEquals(left.filter((n) => n.includes("bad.db")), [], `byte ${at}: left ${left}`);
    }
    await Deno.writeFile(`${f.root}/${key}`, good);
    await restore(f, "good.db");
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("a killed restore's temp files (named with its PID) are removed by the next restore there", async () => {
  const f = await fixture();
  try {
    // A PID above the kernel's maximum (4194304) is never running.
    const dead = [".old.db.tmp-4999999-0123456789ab", ".old.db.tmp-4999999-0123456789ab-wal"];
    // A running process's temp is another restore's, still in progress: kept. (Not this process's PID: a
    // name with it that this process did not make is a dead predecessor's, stale_temps.ts.)
    const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
    const live = `.other.db.tmp-${other.pid}-0123456789ab`;
    try {
      for (const n of [...dead, live]) await Deno.writeFile(`${f.dir}/${n}`, new Uint8Array(4096));
      await restore(f, "fresh.db");
      const left = [...Deno.readDirSync(f.dir)].map((e) => e.name).filter((n) => n.startsWith("."));
      assertEquals(left, [live]);
    } finally {
      other.kill();
      await other.status;
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("replica list: a generation's span starts at its oldest snapshot, a time restore --timestamp takes", async () => {
  const f = await fixture();
  try {
    const t = await setTimes(f.root, GEN, f.made, T0); // snapshot at t[0], then the segments
    // A segment uploaded just before the snapshot, which retention keeps (its index is the snapshot's).
    await Deno.utime(`${f.root}/${keyOf(GEN, f.made[1])}`, new Date(T0 - MIN), new Date(T0 - MIN));
    const list = await listReplica(replicaClientFor(f.backend));
    assertEquals(list.generations[0].createdAt, t[0]);
    const r = await restore(f, "start.db", { timestamp: list.generations[0].createdAt! });
    assertEquals(r.snapshotIndex, 0);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

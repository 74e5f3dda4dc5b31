/**
 * Builds a small Litestream replica by hand — real SQLite WAL bytes cut into segments, compressed
 * with our LZ4 writer, stored through our replica client — so restore tests control every object
 * (times, gaps, generations) and Litestream's own restore can judge our formats.
 *
 * Layout made by {@link buildReplica} for generation G:
 *   snapshots/00000000  DB after rows 1..50 (checkpointed)
 *   wal/00000000_00000000  header + rows 51..60      (index 0, WAL kept, no checkpoint)
 *   wal/00000000_<off>     rows 61..70
 *   snapshots/00000001  (with `secondSnapshot`) DB after rows 1..70, taken after that checkpoint
 *   wal/00000001_00000000  header + rows 71..80      (after a TRUNCATE checkpoint: new WAL, new salts)
 *   wal/00000001_<off>     rows 81..85
 *   wal/00000001_<off2>    rows 86..90
 */
import { DatabaseSync } from "node:sqlite";
import { lz4CompressBytes } from "../../lib/codec/lz4/lz4.ts";
import type { ReplicaClient } from "../../lib/litestream/replica_client.ts";

function insert(db: DatabaseSync, from: number, to: number): void {
  for (let id = from; id <= to; id++) {
    db.prepare("INSERT INTO t (id, ts, payload) VALUES (?, 0, randomblob(300))").run(id);
  }
}

/** A stored object: its position and when it should appear to have been created. */
export interface MadeObject {
  kind: "snapshot" | "wal";
  index: number;
  offset: number;
  /** Uncompressed length. */
  length: number;
}

/**
 * Writes generation `generation` into `client` (see the module comment). `dir` is scratch space.
 * Returns the objects in creation order; the caller may set their times with `setTimes`.
 */
export async function buildReplica(
  client: ReplicaClient,
  generation: string,
  dir: string,
  secondSnapshot = false,
): Promise<MadeObject[]> {
  const path = `${dir}/src-${generation}.db`;
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, ts INTEGER, payload BLOB)");
  insert(db, 1, 50);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const made: MadeObject[] = [];
  const snap = await Deno.readFile(path);
  await client.writeSnapshot(generation, 0, await lz4CompressBytes(snap));
  made.push({ kind: "snapshot", index: 0, offset: 0, length: snap.length });

  let walStart = 0;
  const cutSegment = async (index: number) => {
    const wal = await Deno.readFile(`${path}-wal`);
    const body = wal.subarray(walStart);
    await client.writeWalSegment({ generation, index, offset: walStart }, await lz4CompressBytes(body));
    made.push({ kind: "wal", index, offset: walStart, length: body.length });
    walStart = wal.length;
  };
  for (let i = 0; i < 10; i++) insert(db, 51 + i, 51 + i); // ten transactions
  await cutSegment(0);
  insert(db, 61, 70);
  await cutSegment(0);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  if (secondSnapshot) {
    const snap1 = await Deno.readFile(path);
    await client.writeSnapshot(generation, 1, await lz4CompressBytes(snap1));
    made.push({ kind: "snapshot", index: 1, offset: 0, length: snap1.length });
  }
  walStart = 0;
  insert(db, 71, 80);
  await cutSegment(1);
  insert(db, 81, 85);
  await cutSegment(1);
  insert(db, 86, 90);
  await cutSegment(1);
  db.close();
  return made;
}

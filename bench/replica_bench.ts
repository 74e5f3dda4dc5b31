/**
 * Replica benchmark: a generated database (~1 GiB × ctx.scale) replicated by the real
 * `litestream replicate` (snapshot + some WAL) to a file replica, then restored side by side by
 * `litestream restore` and `vigocli backup replica restore` (with and without integrity_check):
 * wall time and peak RSS. Also our LZ4 frame throughput (WebAssembly block compressor and decoder,
 * TypeScript xxHash32) next to the `lz4` CLI.
 */
import { join } from "node:path";
import {
  type BenchContext,
  type BenchRow,
  exists,
  measureRestoresInTurn,
  measureShell,
  ratioGoal,
  sh,
} from "./bench_lib.ts";
import { startLitestreamReplicate, writeLitestreamConfig } from "../tests/helpers/litestream.ts";
import { LITESTREAM } from "../tests/helpers/tools.ts";
import { lz4CompressStream } from "../lib/codec/lz4/lz4.ts";
import { lz4FrameDecoder } from "../lib/codec/lz4/lz4_frame_reader.ts";

const GIB = 1024 ** 3;

async function makeDb(path: string, bytes: number): Promise<void> {
  const rows = Math.max(1000, Math.round(bytes / 600));
  const sql = `PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
    CREATE TABLE nodes(id INTEGER PRIMARY KEY, name TEXT, facts TEXT, payload TEXT);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows})
    INSERT INTO nodes(name, facts, payload) SELECT 'node-' || i || '.fleet.example.com',
      '{"os":"debian","kernel":"6.1.' || (i % 97) || '","role":"web"}', hex(randomblob(200)) FROM c;
    CREATE INDEX nodes_name ON nodes(name);`;
  const out = await new Deno.Command("sqlite3", { args: [path, sql], stdout: "null" }).output();
  if (!out.success) throw new Error("sqlite3 failed to generate the benchmark database");
}

/** Replicates `db` with litestream until its snapshot and a WAL segment after it are stored. */
async function replicate(dir: string, db: string, replica: string): Promise<void> {
  const config = await writeLitestreamConfig(join(dir, "litestream.yml"), {
    dbPath: db,
    replicaUrl: `file://${replica}`,
    syncInterval: "200ms",
    monitorInterval: "200ms",
  });
  const ls = startLitestreamReplicate(config);
  try {
    await ls.waitFor(/snapshot written/, 30 * 60_000);
    const upd = await new Deno.Command("sqlite3", {
      args: [db, "UPDATE nodes SET facts = facts || ' ' WHERE id % 50 = 0"],
      stdout: "null",
    }).output();
    if (!upd.success) throw new Error("sqlite3 update failed");
    await ls.waitFor(/wal segment written[^\n]*\n[\s\S]*wal segment written/, 60_000).catch(() => {});
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await ls.stop("SIGTERM");
  }
}

/** MB/s of our LZ4 frame writer and reader over `path`, in this process. */
async function lz4Throughput(path: string): Promise<{ compress: number; decompress: number; bytes: number }> {
  const data = await Deno.readFile(path);
  const chunks = [];
  for (let i = 0; i < data.length; i += 1 << 20) chunks.push(data.subarray(i, i + (1 << 20)));
  let t = performance.now();
  const frames: Uint8Array[] = [];
  for await (const c of ReadableStream.from(chunks).pipeThrough(lz4CompressStream())) frames.push(c);
  const compress = data.length / 1e6 / ((performance.now() - t) / 1000);
  t = performance.now();
  let n = 0;
  // The push decoder restore uses: blocks are views of reused memory, no buffer per block.
  const dec = lz4FrameDecoder();
  for (const f of frames) dec.push(f, (block) => n += block.length);
  dec.end();
  const decompress = n / 1e6 / ((performance.now() - t) / 1000);
  return { compress, decompress, bytes: data.length };
}

const OUTPUTS = ["peer.db", "fast.db", "ours.db"];

async function removeOutputs(dir: string): Promise<void> {
  for (const f of OUTPUTS) await Deno.remove(join(dir, f)).catch(() => {});
}

/** Runs the comparison. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const db = join(ctx.workDir, "app.db");
  const replica = join(ctx.workDir, "replica");
  // Made once per `./dev bench`; later runs restore the same replica.
  if (!await exists(replica)) {
    await makeDb(db, GIB * ctx.scale);
    await replicate(ctx.workDir, db, replica);
  }
  const size = `${((await Deno.stat(db)).size / 1024 ** 2).toFixed(0)} MiB DB`;
  const vigo = ctx.vigocli.map(sh).join(" ");
  const restore = (out: string, flags = "") =>
    `${vigo} backup replica restore --url file://${replica} -o ${sh(join(ctx.workDir, out))}${flags}`;
  const commands = {
    peer: `${sh(LITESTREAM)} restore -o ${sh(join(ctx.workDir, "peer.db"))} file://${replica}`,
    oursFast: restore("fast.db", " --no-integrity-check"),
    ours: restore("ours.db"),
  };
  // In this VM, memory freed and left alone for a few seconds goes back to the host, and a restore
  // that then writes ~1 GiB into the page cache pays 2–3 s more in the kernel faulting it in again,
  // whichever tool it is (the same restore: 1.5 s started right after removing the last output, 3.9–5.2
  // s started 10 s later): hence the prefault before each restore and the rotating order.
  const { peer, oursFast, ours } = await measureRestoresInTurn(
    commands,
    OUTPUTS.map((f) => join(ctx.workDir, f)),
    ctx.run ?? 0,
  );
  await removeOutputs(ctx.workDir);

  // LZ4 on a slice of the database (bounded so the in-process buffers stay small).
  const sample = join(ctx.workDir, "sample.bin");
  await measureShell(
    `head -c ${Math.min(256 * 1024 ** 2, (await Deno.stat(db)).size)} ${sh(db)} > ${sh(sample)}`,
  );
  const lz = await lz4Throughput(sample);
  const mb = lz.bytes / 1e6;
  const cli = await measureShell(`lz4 -1 -q -c ${sh(sample)} > ${sh(sample)}.lz4`);
  const cliD = await measureShell(`lz4 -d -q -c ${sh(sample)}.lz4 > /dev/null`);

  return [
    {
      name: `replica restore, ${size}, same work (no integrity_check)`,
      ours: oursFast.seconds,
      peer: peer.seconds,
      peerName: "litestream restore",
      unit: "s",
      ...ratioGoal(1.0),
    },
    {
      name: `replica restore, ${size}, with integrity_check (default)`,
      ours: ours.seconds,
      peer: peer.seconds,
      peerName: "litestream restore (no check)",
      unit: "s",
      ...ratioGoal(1.0),
    },
    {
      name: `replica restore peak RSS, ${size}`,
      ours: ours.peakRssMiB,
      peer: peer.peakRssMiB,
      peerName: "litestream restore",
      unit: "MiB",
    },
    {
      name: "LZ4 frame compress (WebAssembly blocks)",
      ours: lz.compress,
      peer: mb / cli.seconds,
      peerName: "lz4 -1 (C)",
      unit: "MB/s",
    },
    {
      name: "LZ4 frame decompress (WebAssembly blocks)",
      ours: lz.decompress,
      peer: mb / cliD.seconds,
      peerName: "lz4 -d (C)",
      unit: "MB/s",
    },
  ];
}

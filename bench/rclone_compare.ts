/**
 * The shared half of the backend benchmarks: one random file uploaded and downloaded by our backend
 * (a child process) and by `rclone copy` to the same server, one interleaved round per run (main.ts
 * repeats the runs), as rows.
 */
import { join } from "node:path";
import { type BenchRow, type Measured, ratioGoal } from "./bench_lib.ts";
import { measureShell, sh } from "./bench_lib.ts";

const MiB = 1024 * 1024;

/** Writes `size` random bytes (nothing on the path may win by compressing). */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const w = f.writable.getWriter();
  const chunk = new Uint8Array(MiB);
  for (let left = size; left > 0; left -= MiB) {
    for (let i = 0; i < chunk.length; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    await w.write(left >= MiB ? chunk : chunk.subarray(0, left));
  }
  await w.close();
}

/** What differs between backends in {@link compareWithRclone}. */
export interface RcloneComparison {
  /** Backend name for the rows, e.g. "S3". */
  backend: string;
  /** Server description for the rows, e.g. "s3rver on loopback". */
  server: string;
  /** Scratch directory. */
  dir: string;
  /** The random source file and its size. */
  src: string;
  size: number;
  /** Runs our child process: `upload FILE KEY` or `download FILE KEY`. */
  ours(mode: "upload" | "download", file: string, key: string): Promise<Measured>;
  /** rclone's environment (RCLONE_CONFIG_BENCH_* describes the `bench:` remote). */
  rcloneEnv: Record<string, string>;
  /** rclone path of the round's directory, e.g. `bench:bucket/rclone/r0` (`round` is unique per call). */
  rcloneDir(round: string): string;
}

/** One interleaved round on a shared machine; fresh names so rclone never skips a copy. */
export async function compareWithRclone(c: RcloneComparison): Promise<BenchRow[]> {
  const round = crypto.randomUUID().slice(0, 8);
  const remote = c.rcloneDir(round);
  const up = await c.ours("upload", c.src, `r${round}/blob.bin`);
  const rUp = await measureShell(`rclone copy ${sh(c.src)} ${sh(remote)}`, c.rcloneEnv);
  const ourOut = join(c.dir, `ours-${round}.out`);
  const down = await c.ours("download", ourOut, `r${round}/blob.bin`);
  const rOut = join(c.dir, `rclone-out-${round}`);
  await Deno.mkdir(rOut);
  const rDown = await measureShell(`rclone copy ${sh(`${remote}/blob.bin`)} ${sh(rOut)}`, c.rcloneEnv);
  for (const f of [ourOut, join(rOut, "blob.bin")]) {
    if ((await Deno.stat(f)).size !== c.size) {
      throw new Error(`${f}: downloaded size differs from ${c.size}`);
    }
    await Deno.remove(f);
  }
  const mbps = (s: number) => c.size / MiB / s;
  const label = `${c.size / MiB} MiB, ${c.server}`;
  return [
    row(`${c.backend} upload throughput, ${label}`, mbps(up.seconds), mbps(rUp.seconds), "MiB/s", true),
    row(`${c.backend} download throughput, ${label}`, mbps(down.seconds), mbps(rDown.seconds), "MiB/s", true),
    row(`${c.backend} upload peak RSS, ${label}`, up.peakRssMiB, rUp.peakRssMiB, "MiB", false),
    row(`${c.backend} download peak RSS, ${label}`, down.peakRssMiB, rDown.peakRssMiB, "MiB", false),
  ];
}

function row(name: string, ours: number, peer: number, unit: string, higherBetter: boolean): BenchRow {
  return {
    name,
    ours,
    peer,
    peerName: "rclone copy",
    unit,
    ...(higherBetter ? ratioGoal(1.0, true) : ratioGoal(1.2)),
  };
}

/**
 * The shared half of the backend benchmarks: one random file uploaded and downloaded by our backend
 * (a child process) and by `rclone copy` to the same server, best of two interleaved rounds, as rows.
 */
import { join } from "node:path";
import type { BenchRow, Measured } from "./bench_lib.ts";
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
  /** rclone path of the round's directory, e.g. `bench:bucket/rclone/r0`. */
  rcloneDir(round: number): string;
}

/** Best of two interleaved rounds on a shared machine; fresh names so rclone never skips a copy. */
export async function compareWithRclone(c: RcloneComparison): Promise<BenchRow[]> {
  const best = (a: Measured | undefined, b: Measured) => (a && a.seconds <= b.seconds ? a : b);
  let up: Measured | undefined, rUp: Measured | undefined, down: Measured | undefined;
  let rDown: Measured | undefined;
  for (let round = 0; round < 2; round++) {
    const remote = c.rcloneDir(round);
    up = best(up, await c.ours("upload", c.src, `r${round}/blob.bin`));
    rUp = best(rUp, await measureShell(`rclone copy ${sh(c.src)} ${sh(remote)}`, c.rcloneEnv));
    const ourOut = join(c.dir, `ours-${round}.out`);
    down = best(down, await c.ours("download", ourOut, `r${round}/blob.bin`));
    const rOut = join(c.dir, `rclone-out-${round}`);
    await Deno.mkdir(rOut);
    rDown = best(
      rDown,
      await measureShell(`rclone copy ${sh(`${remote}/blob.bin`)} ${sh(rOut)}`, c.rcloneEnv),
    );
    for (const f of [ourOut, join(rOut, "blob.bin")]) {
      if ((await Deno.stat(f)).size !== c.size) {
        throw new Error(`${f}: downloaded size differs from ${c.size}`);
      }
      await Deno.remove(f);
    }
  }
  if (!up || !rUp || !down || !rDown) throw new Error("no rounds ran");
  const mbps = (s: number) => c.size / MiB / s;
  const label = `${c.size / MiB} MiB, ${c.server}`;
  return [
    row(`${c.backend} upload throughput, ${label}`, mbps(up.seconds), mbps(rUp.seconds), "MiB/s", true),
    row(`${c.backend} download throughput, ${label}`, mbps(down.seconds), mbps(rDown.seconds), "MiB/s", true),
    row(`${c.backend} upload peak RSS, ${label}`, up.peakRssMiB, rUp.peakRssMiB, "MiB", false),
  ];
}

function row(name: string, ours: number, peer: number, unit: string, higherBetter: boolean): BenchRow {
  return {
    name,
    ours,
    peer,
    peerName: "rclone copy",
    unit,
    target: higherBetter ? "≥ 1.0×" : "≤ 1.0×",
    met: higherBetter ? ours >= peer : ours <= peer,
  };
}

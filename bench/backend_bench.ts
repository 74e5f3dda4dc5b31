/**
 * Backend throughput on loopback, side by side with `rclone copy` to the same server: upload and
 * download of one file to the s3rver (S3 rows; the SFTP rows join later). Both sides run as separate
 * processes under GNU time, so process start-up and peak RSS count for both.
 *
 * Run directly as `deno run -A bench/backend_bench.ts upload|download FILE KEY` it is the child
 * that moves the bytes with our S3 backend (config in BENCH_S3 as JSON).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchContext, BenchRow } from "./bench_lib.ts";
import { compareWithRclone, writeRandomFile } from "./rclone_compare.ts";
import { measureShell, sh } from "./bench_lib.ts";
import { startS3Server } from "../tests/helpers/s3_server.ts";

const MiB = 1024 * 1024;

async function child(mode: string, file: string, key: string): Promise<void> {
  const { openS3Backend } = await import("../lib/backend/s3/s3_backend.ts");
  const cfg = JSON.parse(Deno.env.get("BENCH_S3")!);
  const b = openS3Backend(cfg.url, cfg, { retry: {} });
  if (mode === "upload") {
    const f = await Deno.open(file);
    await b.put(key, f.readable);
  } else {
    const out = await Deno.open(file, { write: true, create: true, truncate: true });
    await (await b.get(key)).pipeTo(out.writable);
  }
}

/** Upload/download MB/s of our S3 backend vs rclone, and peak RSS of the upload. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const size = Math.max(8, Math.round(512 * ctx.scale)) * MiB;
  const dir = join(ctx.workDir, "backend");
  await Deno.mkdir(dir, { recursive: true });
  const src = join(dir, "blob.bin");
  await writeRandomFile(src, size);
  const server = await startS3Server({ dir: join(dir, "s3rver") });
  try {
    const cfg = server.config();
    const self = fileURLToPath(import.meta.url);
    const ours = (mode: string, file: string, key: string) =>
      measureShell(
        `${sh(Deno.execPath())} run -A --quiet ${sh(self)} ${mode} ${sh(file)} ${sh(key)}`,
        { BENCH_S3: JSON.stringify({ url: server.url("ours"), ...cfg }), PATH: Deno.env.get("PATH") ?? "" },
      );
    const rcloneEnv = {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: dir,
      // The AWS SDK inside rclone fails on a CA bundle it cannot load; loopback needs none.
      AWS_CA_BUNDLE: "",
      RCLONE_CONFIG_BENCH_TYPE: "s3",
      RCLONE_CONFIG_BENCH_PROVIDER: "Other",
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: cfg.accessKeyId,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: cfg.secretAccessKey,
      RCLONE_CONFIG_BENCH_ENDPOINT: cfg.endpoint,
      RCLONE_CONFIG_BENCH_REGION: cfg.region,
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
    };
    return await compareWithRclone({
      backend: "S3",
      server: "s3rver on loopback",
      dir,
      src,
      size,
      ours,
      rcloneEnv,
      rcloneDir: (round) => `bench:${server.bucket}/rclone/r${round}`,
    });
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await child(Deno.args[0], Deno.args[1], Deno.args[2]);

/**
 * Backend throughput on loopback, side by side with `rclone copy` to the same server: upload and
 * download of a 128 MiB and a 1 GiB file (× scale) to the s3rver. Both sides run as separate
 * processes under GNU time, so process start-up and peak RSS count for both.
 * Our side twice: the backend library alone (bench/backend_child.ts, run by the runtime of what is
 * measured: Bun with `--bin`), and the commands an operator runs, `backup upload FILE --url …` and
 * `backup download NAME --url … -o …` (the executable with `--bin`), on the same archive and sidecar.
 * The library's upload takes the path `backup upload` takes: the file as a body of known size
 * (SizedBody), so one streamed PUT up to the 200 MiB cutoff (the 128 MiB row) and multipart above it (the
 * 1 GiB row); the command adds its sidecar check (a SHA-256 over the bytes as they are read), the
 * signature's hashing pass over the file and the sidecar's small PUT, and loads the CLI around them.
 */
import { join } from "node:path";
import type { BenchContext, BenchRow } from "./bench_lib.ts";
import { compareWithRclone, writeRandomArchive } from "./rclone_compare.ts";
import { backendChildCommand, exists, measureShell } from "./bench_lib.ts";
import { startS3Server } from "../tests/helpers/s3_server.ts";

const MiB = 1024 * 1024;

/** Upload/download MiB/s and peak RSS of our S3 backend library and of the commands, vs rclone. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const mib of [128, 1024]) {
    rows.push(...await compareSize(ctx, Math.max(8, Math.round(mib * ctx.scale)) * MiB));
  }
  return rows;
}

async function compareSize(ctx: BenchContext, size: number): Promise<BenchRow[]> {
  const dir = join(ctx.workDir, `backend-${size}`);
  const src = join(dir, "bench.tar.gz");
  if (!await exists(`${src}.sha256`)) {
    await Deno.mkdir(dir, { recursive: true });
    await writeRandomArchive(src, size);
  }
  // A fresh server per run: s3rver's store is not what is measured, and it must not fill the disk.
  await Deno.remove(join(dir, "s3rver"), { recursive: true }).catch(() => {});
  // No payload-hash check: rclone sends UNSIGNED-PAYLOAD (and a Content-MD5 s3rver ignores), so
  // checking only our signed hash would charge the single-threaded server's CPU to our side alone.
  const server = await startS3Server({ dir: join(dir, "s3rver"), checkPayloadHash: false });
  try {
    const cfg = server.config();
    const ours = (mode: string, file: string, key: string) =>
      measureShell(backendChildCommand(ctx, [mode, file, key]), {
        BENCH_BACKEND: JSON.stringify({ kind: "s3", url: server.url("ours"), ...cfg }),
        PATH: Deno.env.get("PATH") ?? "",
      });
    const credentialsFile = join(dir, "s3.ini");
    await Deno.writeTextFile(
      credentialsFile,
      `access_key_id = ${cfg.accessKeyId}\nsecret_access_key = ${cfg.secretAccessKey}\n` +
        `endpoint = ${cfg.endpoint}\nregion = ${cfg.region}\nforce_path_style = true\n`,
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
    return await compareWithRclone(ctx, {
      backend: "S3",
      server: "s3rver on loopback",
      dir,
      src,
      size,
      ours,
      cliUrl: (round) => server.url(`cli/r${round}`),
      credentialsFile,
      rcloneEnv,
      rcloneDir: (round) => `bench:${server.bucket}/rclone/r${round}`,
    });
  } finally {
    await server.stop();
  }
}

/**
 * SFTP backend throughput on loopback, side by side with `rclone copy` (Debian rclone, sftp remote
 * configured through RCLONE_CONFIG_* variables) to the same test sshd: upload and download of one
 * random file. Both sides run as separate processes under GNU time, so start-up and peak RSS count.
 *
 * Run directly as `deno run -A bench/sftp_bench.ts upload|download FILE KEY` it is the child that
 * moves the bytes with our SFTP backend (URL and options in BENCH_SFTP as JSON).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchContext, BenchRow } from "./bench_lib.ts";
import { compareWithRclone, writeRandomFile } from "./rclone_compare.ts";
import { measureShell, sh } from "./bench_lib.ts";
import { startSshd } from "../tests/helpers/sshd.ts";

const MiB = 1024 * 1024;

async function child(mode: string, file: string, key: string): Promise<void> {
  const { openSftpBackend } = await import("../lib/backend/sftp/sftp_backend.ts");
  const cfg = JSON.parse(Deno.env.get("BENCH_SFTP")!);
  const b = await openSftpBackend(cfg.url, cfg);
  try {
    if (mode === "upload") {
      await b.put(key, fileStream(file));
    } else {
      const out = await Deno.open(file, { write: true, create: true, truncate: true });
      await (await b.get(key)).pipeTo(out.writable);
    }
  } finally {
    await b.close();
  }
}

/** A file as a stream of 256 KiB chunks, one SFTP WRITE each (Deno's own `readable` reads 64 KiB). */
function fileStream(path: string): ReadableStream<Uint8Array> {
  const f = Deno.openSync(path);
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const buf = new Uint8Array(256 * 1024);
      const n = await f.read(buf);
      if (n === null) {
        f.close();
        ctl.close();
      } else ctl.enqueue(buf.subarray(0, n));
    },
    cancel: () => f.close(),
  });
}

/** Upload/download MiB/s of our SFTP backend vs rclone, and peak RSS of the upload. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const size = Math.max(8, Math.round(256 * ctx.scale)) * MiB;
  const dir = join(ctx.workDir, "sftp");
  await Deno.mkdir(dir, { recursive: true });
  const src = join(dir, "blob.bin");
  await writeRandomFile(src, size);
  const sshd = await startSshd();
  try {
    const self = fileURLToPath(import.meta.url);
    const env = { PATH: Deno.env.get("PATH") ?? "", HOME: dir };
    const ours = (mode: string, file: string, key: string) =>
      measureShell(`${sh(Deno.execPath())} run -A --quiet ${sh(self)} ${mode} ${sh(file)} ${sh(key)}`, {
        ...env,
        BENCH_SFTP: JSON.stringify({
          url: sshd.url("ours"),
          keyPath: sshd.clientKey,
          knownHostsPath: sshd.knownHosts,
        }),
      });
    const rcloneEnv = {
      ...env,
      RCLONE_CONFIG_BENCH_TYPE: "sftp",
      RCLONE_CONFIG_BENCH_HOST: sshd.host,
      RCLONE_CONFIG_BENCH_PORT: String(sshd.port),
      RCLONE_CONFIG_BENCH_USER: sshd.user,
      RCLONE_CONFIG_BENCH_KEY_FILE: sshd.clientKey,
      RCLONE_CONFIG_BENCH_KNOWN_HOSTS_FILE: sshd.knownHosts,
    };
    return await compareWithRclone({
      backend: "SFTP",
      server: "OpenSSH sshd on loopback",
      dir,
      src,
      size,
      ours,
      rcloneEnv,
      rcloneDir: (round) => `bench:${sshd.dataDir}/rclone/r${round}`,
    });
  } finally {
    await sshd.cleanup();
  }
}

if (import.meta.main) await child(Deno.args[0], Deno.args[1], Deno.args[2]);

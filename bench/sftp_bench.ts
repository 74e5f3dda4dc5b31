/**
 * SFTP backend throughput on loopback, side by side with `rclone copy` (Debian rclone, sftp remote
 * configured through RCLONE_CONFIG_* variables) to the same test sshd: upload and download of one
 * random file. Both sides run as separate processes under GNU time, so start-up and peak RSS count.
 * Our side twice: the backend library alone (bench/backend_child.ts, run by the runtime of what is
 * measured: Bun with `--bin`), and `backup upload`/`backup download` as an operator runs them (the
 * executable with `--bin`) on the same archive and sidecar.
 */
import { join } from "node:path";
import type { BenchContext, BenchRow } from "./bench_lib.ts";
import { compareWithRclone, writeRandomArchive } from "./rclone_compare.ts";
import { backendChildCommand, exists, measureShell } from "./bench_lib.ts";
import { startSshd } from "../tests/helpers/sshd.ts";

const MiB = 1024 * 1024;

/** Upload/download MiB/s and peak RSS of our SFTP backend library and of the commands, vs rclone. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const size = Math.max(8, Math.round(256 * ctx.scale)) * MiB;
  const dir = join(ctx.workDir, "sftp");
  await Deno.mkdir(dir, { recursive: true });
  const src = join(dir, "bench.tar.gz");
  if (!await exists(`${src}.sha256`)) await writeRandomArchive(src, size);
  const sshd = await startSshd();
  try {
    const env = { PATH: Deno.env.get("PATH") ?? "", HOME: dir };
    const ours = (mode: string, file: string, key: string) =>
      measureShell(backendChildCommand(ctx, [mode, file, key]), {
        ...env,
        BENCH_BACKEND: JSON.stringify({
          kind: "sftp",
          url: sshd.url("ours"),
          keyPath: sshd.clientKey,
          knownHostsPath: sshd.knownHosts,
        }),
      });
    const credentialsFile = join(dir, "sftp.yaml");
    await Deno.writeTextFile(
      credentialsFile,
      `key_path: ${sshd.clientKey}\nknown_hosts_path: ${sshd.knownHosts}\n`,
    );
    const rcloneEnv = {
      ...env,
      RCLONE_CONFIG_BENCH_TYPE: "sftp",
      RCLONE_CONFIG_BENCH_HOST: sshd.host,
      RCLONE_CONFIG_BENCH_PORT: String(sshd.port),
      RCLONE_CONFIG_BENCH_USER: sshd.user,
      RCLONE_CONFIG_BENCH_KEY_FILE: sshd.clientKey,
      RCLONE_CONFIG_BENCH_KNOWN_HOSTS_FILE: sshd.knownHosts,
    };
    return await compareWithRclone(ctx, {
      backend: "SFTP",
      server: "OpenSSH sshd on loopback",
      dir,
      src,
      size,
      ours,
      cliUrl: (round) => sshd.url(`cli/r${round}`),
      credentialsFile,
      rcloneEnv,
      rcloneDir: (round) => `bench:${sshd.dataDir}/rclone/r${round}`,
    });
  } finally {
    await sshd.cleanup();
  }
}

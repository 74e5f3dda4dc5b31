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
import type { BenchContext, BenchRow, Measured } from "./bench_lib.ts";
import { measureShell, sh } from "./bench_lib.ts";
import { startSshd } from "../tests/helpers/sshd.ts";

const MiB = 1024 * 1024;

async function child(mode: string, file: string, key: string): Promise<void> {
  const { openSftpBackend } = await import("../lib/sftp/sftp_backend.ts");
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

async function writeRandomFile(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const w = f.writable.getWriter();
  const chunk = new Uint8Array(MiB);
  for (let left = size; left > 0; left -= MiB) {
    for (let i = 0; i < chunk.length; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    await w.write(left >= MiB ? chunk : chunk.subarray(0, left));
  }
  await w.close();
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
    // Best of two interleaved rounds on a shared machine; fresh names so rclone never skips a copy.
    const best = (a: Measured | undefined, b: Measured) => (a && a.seconds <= b.seconds ? a : b);
    let up: Measured | undefined, rUp: Measured | undefined, down: Measured | undefined;
    let rDown: Measured | undefined;
    for (let round = 0; round < 2; round++) {
      const remote = `bench:${sshd.dataDir}/rclone/r${round}`;
      up = best(up, await ours("upload", src, `r${round}/blob.bin`));
      rUp = best(rUp, await measureShell(`rclone copy ${sh(src)} ${sh(remote)}`, rcloneEnv));
      const ourOut = join(dir, `ours-${round}.out`);
      down = best(down, await ours("download", ourOut, `r${round}/blob.bin`));
      const rOut = join(dir, `rclone-out-${round}`);
      await Deno.mkdir(rOut);
      rDown = best(
        rDown,
        await measureShell(`rclone copy ${sh(`${remote}/blob.bin`)} ${sh(rOut)}`, rcloneEnv),
      );
      for (const f of [ourOut, join(rOut, "blob.bin")]) {
        if ((await Deno.stat(f)).size !== size) throw new Error(`${f}: downloaded size differs from ${size}`);
        await Deno.remove(f);
      }
    }
    if (!up || !rUp || !down || !rDown) throw new Error("no rounds ran");
    const mbps = (s: number) => size / MiB / s;
    const label = `${size / MiB} MiB, OpenSSH sshd on loopback`;
    return [
      row(`SFTP upload throughput, ${label}`, mbps(up.seconds), mbps(rUp.seconds), "MiB/s", true),
      row(`SFTP download throughput, ${label}`, mbps(down.seconds), mbps(rDown.seconds), "MiB/s", true),
      row(`SFTP upload peak RSS, ${label}`, up.peakRssMiB, rUp.peakRssMiB, "MiB", false),
    ];
  } finally {
    await sshd.cleanup();
  }
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

if (import.meta.main) await child(Deno.args[0], Deno.args[1], Deno.args[2]);

/**
 * The child process of the S3 and SFTP benchmarks: moves one file with our backend and exits, so its
 * start-up and peak RSS count as rclone's do. Written against node: APIs only, so it runs under Bun —
 * the runtime inside the shipped executables, used when the benchmark is given `--bin` — or Deno.
 *
 * Usage: `bun|deno run bench/backend_child.ts upload|download FILE KEY`, the backend in BENCH_BACKEND
 * (JSON: `{ "kind": "s3" | "sftp", "url": …, …options }`).
 */
import { open, stat } from "node:fs/promises";
import process from "node:process";
import type { Backend } from "../lib/backend/backend.ts";
import { fileStream } from "../lib/fsutil/file_stream.ts";

/** Bytes per read: one SFTP WRITE or a quarter of an S3 part each. */
const CHUNK = 256 * 1024;

async function openBackend(cfg: { kind: string; url: string }): Promise<Backend> {
  if (cfg.kind === "s3") {
    const { openS3Backend } = await import("../lib/backend/s3/s3_backend.ts");
    return openS3Backend(cfg.url, cfg as never, { retry: {} });
  }
  const { openSftpBackend } = await import("../lib/backend/sftp/sftp_backend.ts");
  return await openSftpBackend(cfg.url, cfg as never);
}

async function main(mode: string, file: string, key: string): Promise<void> {
  const backend = await openBackend(JSON.parse(process.env.BENCH_BACKEND ?? "{}"));
  try {
    if (mode === "upload") {
      // A file's size is known, as rclone knows it: below the cutoff the backend sends one PUT.
      await backend.put(key, { size: (await stat(file)).size, open: () => fileStream(file, CHUNK) });
    } else if (backend.getInto) {
      // The backend's own way into a file where it has one (S3 and GCS under Bun), as `backup download`.
      await (await open(file, "w")).close();
      await backend.getInto(key, file);
    } else {
      const out = await open(file, "w");
      try {
        for await (const chunk of await backend.get(key)) await out.write(chunk);
      } finally {
        await out.close();
      }
    }
  } finally {
    await backend.close();
  }
}

const [mode, file, key] = process.argv.slice(-3);
await main(mode, file, key);

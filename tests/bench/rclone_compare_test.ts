/**
 * The backend benchmarks' shared half: the random archive they move is one `backup upload` accepts and
 * `backup download` checks (a gzip file of the exact size, with a matching sidecar), and each round's
 * rows name what ran (the backend library's child or the shipped command) beside the same rclone figure.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { storedBlockSizes, transferRows, writeRandomArchive } from "../../bench/rclone_compare.ts";
import type { BenchContext, Measured } from "../../bench/bench_lib.ts";
import { runCli } from "../helpers/cli.ts";

async function sh(script: string, cwd: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("sh", { args: ["-c", script], cwd, stdout: "piped", stderr: "piped" })
    .output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

Deno.test("storedBlockSizes: blocks of at most 65,535 bytes that add up to the exact file size", () => {
  for (const size of [23, 65_558, 65_559, 131_098, 8 * 1024 * 1024 + 7]) {
    const blocks = storedBlockSizes(size);
    assert.ok(blocks.every((b) => b >= 0 && b <= 65535), `${size}`);
    assert.equal(18 + blocks.reduce((a, b) => a + b + 5, 0), size);
  }
  assert.throws(() => storedBlockSizes(22), /no gzip file of 22 bytes/);
});

Deno.test("writeRandomArchive: a valid gzip of the exact size with its sidecar, which upload and download take", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-bench-archive-" });
  try {
    for (const size of [65_558, 65_559, 300_001]) {
      const path = join(dir, `a${size}.tar.gz`);
      await writeRandomArchive(path, size);
      assert.equal((await Deno.stat(path)).size, size);
      const t = await sh(`gzip -t a${size}.tar.gz && sha256sum -c a${size}.tar.gz.sha256`, dir);
      assert.equal(t.code, 0, t.out);
      const inflated = await sh(`gzip -dc a${size}.tar.gz | wc -c`, dir);
      assert.equal(Number(inflated.out.trim()), size - 18 - storedBlockSizes(size).length * 5);
    }
    const path = join(dir, "a300001.tar.gz");
    const url = `file://${join(dir, "remote")}`;
    const none = ["--url", url, "--server-yaml", join(dir, "no-server.yaml")];
    const up = await runCli(["backup", "upload", path, ...none]);
    assert.equal(up.code, 0, up.stderr);
    const out = join(dir, "back.tar.gz");
    const down = await runCli(["backup", "download", "a300001.tar.gz", "-o", out, ...none]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await Deno.readFile(out), await Deno.readFile(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const m = (seconds: number, peakRssMiB: number): Measured => ({
  seconds,
  cpuSeconds: 0,
  peakRssMiB,
  code: 0,
});
const sides = {
  library: { up: m(2, 50), down: m(4, 60) },
  cli: { up: m(8, 70), down: m(16, 80) },
  rclone: { up: m(1, 40), down: m(1, 45) },
};
const ctx = (vigocli: string[]): BenchContext => ({ workDir: "/x", scale: 1, vigocli });

Deno.test("transferRows: library and command rows side by side, each against the round's rclone", () => {
  const rows = transferRows(
    ctx(["/bin/vigocli"]),
    "64 MiB, s3rver on loopback",
    "S3",
    64 * 1024 * 1024,
    sides,
  );
  assert.deepEqual(rows.map((r) => [r.name, r.ours, r.peer, r.unit, r.target]), [
    [
      "S3 upload throughput, backend library (bench/backend_child.ts under Bun), 64 MiB, s3rver on loopback",
      32,
      64,
      "MiB/s",
      "≥ 1.0×",
    ],
    [
      "S3 upload throughput, vigocli backup upload (executable), 64 MiB, s3rver on loopback",
      8,
      64,
      "MiB/s",
      "≥ 1.0×",
    ],
    [
      "S3 download throughput, backend library (bench/backend_child.ts under Bun), 64 MiB, s3rver on loopback",
      16,
      64,
      "MiB/s",
      "≥ 1.0×",
    ],
    [
      "S3 download throughput, vigocli backup download (executable), 64 MiB, s3rver on loopback",
      4,
      64,
      "MiB/s",
      "≥ 1.0×",
    ],
    [
      "S3 upload peak RSS, backend library (bench/backend_child.ts under Bun), 64 MiB, s3rver on loopback",
      50,
      40,
      "MiB",
      "≤ 1.2×",
    ],
    [
      "S3 upload peak RSS, vigocli backup upload (executable), 64 MiB, s3rver on loopback",
      70,
      40,
      "MiB",
      "≤ 1.2×",
    ],
    [
      "S3 download peak RSS, backend library (bench/backend_child.ts under Bun), 64 MiB, s3rver on loopback",
      60,
      45,
      "MiB",
      "≤ 1.2×",
    ],
    [
      "S3 download peak RSS, vigocli backup download (executable), 64 MiB, s3rver on loopback",
      80,
      45,
      "MiB",
      "≤ 1.2×",
    ],
  ]);
  assert.ok(rows.every((r) => r.peerName === "rclone copy"));
});

Deno.test("transferRows: without --bin the labels say Deno and deno run main.ts", () => {
  const rows = transferRows(
    ctx(["deno", "run", "-A", "main.ts"]),
    "8 MiB, sshd",
    "SFTP",
    8 * 1024 * 1024,
    sides,
  );
  assert.equal(
    rows[0].name,
    "SFTP upload throughput, backend library (bench/backend_child.ts under Deno), 8 MiB, sshd",
  );
  assert.equal(
    rows[3].name,
    "SFTP download throughput, vigocli backup download (deno run main.ts), 8 MiB, sshd",
  );
});

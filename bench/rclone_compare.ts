/**
 * The shared half of the backend benchmarks: one random archive uploaded and downloaded by our backend
 * library (a child process), by the shipped commands `backup upload` and `backup download`, and by
 * `rclone copy` to the same server, one interleaved round per run (main.ts repeats the runs), as rows.
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { basename, join } from "node:path";
import { type BenchContext, type BenchRow, type Measured, ratioGoal } from "./bench_lib.ts";
import { flushWriteback, measureShell, sh } from "./bench_lib.ts";

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

/**
 * Payload sizes of the stored deflate blocks (at most 65,535 bytes each, 5 bytes of header) that make a
 * gzip file of exactly `size` bytes: 10 bytes of gzip header and 8 of trailer around the blocks.
 */
export function storedBlockSizes(size: number): number[] {
  const payload = size - 18;
  const count = Math.ceil(payload / (65535 + 5));
  if (payload < 5 || count * 5 > payload) throw new Error(`no gzip file of ${size} bytes`);
  const data = payload - count * 5;
  const base = Math.floor(data / count);
  return Array.from({ length: count }, (_, i) => base + (i < data % count ? 1 : 0));
}

/**
 * Writes a gzip file of exactly `size` bytes holding random data in stored blocks (nothing on the path
 * may win by compressing), and its `.sha256` sidecar as `backup create` writes it: what `backup upload`
 * accepts (gzip magic, a matching sidecar) and `backup download` checks, without a compressor's minutes.
 */
export async function writeRandomArchive(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const w = f.writable.getWriter();
  const sha = createHash("sha256");
  let crc = 0;
  const put = async (bytes: Uint8Array) => {
    sha.update(bytes);
    await w.write(bytes);
  };
  await put(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
  const blocks = storedBlockSizes(size);
  for (const [i, len] of blocks.entries()) {
    const block = new Uint8Array(5 + len);
    block[0] = i === blocks.length - 1 ? 1 : 0;
    new DataView(block.buffer).setUint16(1, len, true);
    new DataView(block.buffer).setUint16(3, ~len & 0xffff, true);
    crypto.getRandomValues(block.subarray(5));
    crc = crc32(block.subarray(5), crc);
    await put(block);
  }
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, crc, true);
  new DataView(trailer.buffer).setUint32(4, (size - 18 - blocks.length * 5) >>> 0, true);
  await put(trailer);
  await w.close();
  await Deno.writeTextFile(`${path}.sha256`, `${sha.digest("hex")}  ${basename(path)}\n`);
}

/** What differs between backends in {@link compareWithRclone}. */
export interface RcloneComparison {
  /** Backend name for the rows, e.g. "S3". */
  backend: string;
  /** Server description for the rows, e.g. "s3rver on loopback". */
  server: string;
  /** Scratch directory. */
  dir: string;
  /** The random archive ({@link writeRandomArchive}, its sidecar beside it) and its size. */
  src: string;
  size: number;
  /** Runs the backend library's child process: `upload FILE KEY` or `download FILE KEY`. */
  ours(mode: "upload" | "download", file: string, key: string): Promise<Measured>;
  /** The backend root `backup upload`/`download` get as `--url` (`round` is unique per call). */
  cliUrl(round: string): string;
  /** A `--credentials-file` for the server (the shipped commands' way on a host without server.yaml). */
  credentialsFile: string;
  /** rclone's environment (RCLONE_CONFIG_BENCH_* describes the `bench:` remote). */
  rcloneEnv: Record<string, string>;
  /** rclone path of the round's directory, e.g. `bench:bucket/rclone/r0` (`round` is unique per call). */
  rcloneDir(round: string): string;
}

/** The figures of one side of a round. */
export interface Sides {
  library: { up: Measured; down: Measured };
  cli: { up: Measured; down: Measured };
  rclone: { up: Measured; down: Measured };
}

/**
 * The shell command of `vigocli ARGS` for the context: the executable with `--bin`, else `deno run
 * main.ts`, as the other CLI rows run it.
 */
export function vigocliCommand(ctx: BenchContext, args: string[]): string {
  return [...ctx.vigocli, ...args].map(sh).join(" ");
}

/**
 * One interleaved round on a shared machine; fresh names so neither rclone nor `backup upload` meets a
 * copy already there.
 */
export async function compareWithRclone(ctx: BenchContext, c: RcloneComparison): Promise<BenchRow[]> {
  const round = crypto.randomUUID().slice(0, 8);
  const remote = c.rcloneDir(round);
  const name = basename(c.src);
  const url = c.cliUrl(round);
  // No server.yaml: the root and credentials come from the command line, as on a fresh host.
  const cli = (args: string[]) =>
    measureShell(vigocliCommand(ctx, [
      "backup",
      ...args,
      "--url",
      url,
      "--server-yaml",
      join(c.dir, "no-server.yaml"),
      "--credentials-file",
      c.credentialsFile,
    ]));
  // Each starts with no dirty page of another's: only `backup download` fsyncs, and it otherwise paid for
  // the library's and rclone's 2 × 256 MiB still being written back (0.777x rclone in stop 37's table
  // run, ~0.9 s more than the library per 256 MiB over SFTP, against ~0.3 s run alone).
  const measured = async <T>(run: () => Promise<T>) => (await flushWriteback(), await run());
  const libUp = await measured(() => c.ours("upload", c.src, `r${round}/${name}`));
  const rUp = await measured(() => measureShell(`rclone copy ${sh(c.src)} ${sh(remote)}`, c.rcloneEnv));
  const cliUp = await measured(() => cli(["upload", c.src]));
  const libOut = join(c.dir, `library-${round}.out`);
  const libDown = await measured(() => c.ours("download", libOut, `r${round}/${name}`));
  const rOut = join(c.dir, `rclone-out-${round}`);
  await Deno.mkdir(rOut);
  const rDown = await measured(() =>
    measureShell(`rclone copy ${sh(`${remote}/${name}`)} ${sh(rOut)}`, c.rcloneEnv)
  );
  const cliOut = join(c.dir, `cli-${round}.tar.gz`);
  const cliDown = await measured(() => cli(["download", name, "-o", cliOut]));
  for (const f of [libOut, join(rOut, name), cliOut]) {
    if ((await Deno.stat(f)).size !== c.size) {
      throw new Error(`${f}: downloaded size differs from ${c.size}`);
    }
    await Deno.remove(f);
  }
  await Deno.remove(`${cliOut}.sha256`);
  await Deno.remove(rOut);
  return transferRows(ctx, `${c.size / MiB} MiB, ${c.server}`, c.backend, c.size, {
    library: { up: libUp, down: libDown },
    cli: { up: cliUp, down: cliDown },
    rclone: { up: rUp, down: rDown },
  });
}

/**
 * The rows of one round. Each label says what ran: the backend library's child process
 * (bench/backend_child.ts, under Bun with `--bin`, else Deno; the rows measured since stop 21) or the
 * shipped commands (the executable with `--bin`, else `deno run main.ts`), each against the same rclone.
 */
export function transferRows(
  ctx: BenchContext,
  label: string,
  backend: string,
  size: number,
  m: Sides,
): BenchRow[] {
  const bin = ctx.vigocli.length === 1;
  const library = `backend library (bench/backend_child.ts under ${bin ? "Bun" : "Deno"})`;
  const how = bin ? "executable" : "deno run main.ts";
  const metrics = [
    ["throughput", "MiB/s", true, (x: Measured) => size / MiB / x.seconds],
    ["peak RSS", "MiB", false, (x: Measured) => x.peakRssMiB],
  ] as const;
  const rows: BenchRow[] = [];
  for (const [metric, unit, higher, figure] of metrics) {
    for (const [dir, key] of [["upload", "up"], ["download", "down"]] as const) {
      const sides = [[library, m.library], [`vigocli backup ${dir} (${how})`, m.cli]] as const;
      for (const [what, side] of sides) {
        const name = `${backend} ${dir} ${metric}, ${what}, ${label}`;
        rows.push(row(name, figure(side[key]), figure(m.rclone[key]), unit, higher));
      }
    }
  }
  return rows;
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

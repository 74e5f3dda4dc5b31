/**
 * Peak RSS must not grow with the data: `backup create`, `verify` and `restore` of a 1 GiB and an
 * 8 GiB database (plus the same small files), each command's peak RSS at 8 GiB against its own at
 * 1 GiB. Needs ~25 GiB of scratch space at full size, so it runs only at `--scale 1` or with
 * `--rss-flat` (then at both sizes × scale).
 */
import { join } from "node:path";
import { type BenchContext, type BenchRow, measureShell, ratioGoal, sh } from "./bench_lib.ts";
import { makeBenchTree } from "./archive_bench.ts";

const GIB = 1024 ** 3;

/** Peak RSS rows, or none below scale 1 without `--rss-flat`. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  if (ctx.scale < 1 && !ctx.rssFlat) return [];
  const factor = Math.min(1, ctx.scale);
  const small = await peaks(ctx, GIB * factor);
  const large = await peaks(ctx, 8 * GIB * factor);
  const label = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
  return (Object.keys(small) as (keyof typeof small)[]).map((cmd) => ({
    name: `peak RSS, backup ${cmd}, ${label(8 * GIB * factor)} vs ${label(GIB * factor)} DB`,
    ours: large[cmd],
    peer: small[cmd],
    peerName: `same command at ${label(GIB * factor)}`,
    unit: "MiB",
    ...ratioGoal(1.1),
  }));
}

async function peaks(
  ctx: BenchContext,
  dbBytes: number,
): Promise<Record<"create" | "verify" | "restore", number>> {
  const tag = (dbBytes / 1024 ** 2).toFixed(0);
  const root = join(ctx.workDir, `rss-srv-${tag}`);
  await makeBenchTree(root, dbBytes, 1000);
  const vigo = ctx.vigocli.map(sh).join(" ");
  const archive = join(ctx.workDir, `rss-${tag}.tar.gz`);
  const target = join(ctx.workDir, `rss-restore-${tag}`);
  const create = await measureShell(
    `rm -f ${sh(archive)} ${sh(archive)}.sha256 && ${vigo} backup create --server-root ${sh(root)} ` +
      `--server-yaml ${sh(join(root, "server.yaml"))} ${sh(archive)}`,
  );
  const verify = await measureShell(`${vigo} backup verify ${sh(archive)}`);
  const restore = await measureShell(
    `rm -rf ${sh(target)} && ${vigo} backup restore ${sh(archive)} --target ${sh(target)}`,
  );
  // The restored tree is as big as the database: do not keep two of them at once.
  await Deno.remove(target, { recursive: true });
  return { create: create.peakRssMiB, verify: verify.peakRssMiB, restore: restore.peakRssMiB };
}

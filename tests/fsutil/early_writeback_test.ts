/**
 * Early writeback, observed in the kernel: `filefrag` (FIEMAP) marks a range that is still only in the
 * page cache as `delalloc` on ext4 and XFS, and a range that has gone to disk with its blocks. A file
 * written with early writeback has its first windows on disk before anyone fsyncs it; the same writes
 * without it stay delalloc (the control, which also tells whether this file system shows it at all).
 */
import assert from "node:assert/strict";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { EarlyWriteback } from "../../lib/fsutil/early_writeback.ts";
import { openDescriptors } from "../helpers/descriptors.ts";

const MIB = 1024 * 1024;
const BLOCK = 4096;

/** Logical block ranges of `path` that are still delalloc (in memory only), per `filefrag -v`. */
async function pendingRanges(path: string): Promise<[number, number][]> {
  const out = await new Deno.Command("filefrag", { args: ["-v", path], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`filefrag ${path}: ${new TextDecoder().decode(out.stderr)}`);
  const ranges: [number, number][] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^\s*\d+:\s+(\d+)\.\.\s*(\d+):.*delalloc/.exec(line);
    if (m) ranges.push([Number(m[1]), Number(m[2])]);
  }
  return ranges;
}

/** Writes `mib` MiB of data in 256 KiB writes, telling `wb` (when given) after each. */
async function writeFile(path: string, mib: number, wb?: EarlyWriteback): Promise<void> {
  const fd = openSync(path, "wx", 0o600);
  try {
    const chunk = new Uint8Array(MIB / 4).fill(0x5a);
    for (let i = 0; i < mib * 4; i++) {
      writeSync(fd, chunk);
      wb?.wrote(chunk.length);
      // The restore awaits between chunks too; this lets a finished sync make room for the next.
      await new Promise((r) => setTimeout(r, 0));
    }
    await wb?.close();
  } finally {
    closeSync(fd);
  }
}

const dir = await Deno.makeTempDir({ prefix: "early-writeback-" });
await writeFile(join(dir, "probe"), 1);
const shown = (await pendingRanges(join(dir, "probe")).catch(() => [])).length > 0;
await Deno.remove(dir, { recursive: true });

Deno.test({
  name: "EarlyWriteback: the first windows are on disk before any fsync, and no descriptor is left",
  ignore: !shown, // a file system that does not report delayed allocation (tmpfs, btrfs) cannot show it
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "early-writeback-" });
    try {
      await writeFile(join(dir, "control"), 8);
      const control = await pendingRanges(join(dir, "control"));
      assert.ok(control.some(([from]) => from === 0), `control not pending: ${JSON.stringify(control)}`);

      const path = join(dir, "early");
      await writeFile(path, 8, new EarlyWriteback(path, MIB));
      // The ones on this file, not a count of the process's: test files run side by side in one process
      // open and close their own meanwhile.
      assert.deepEqual(
        openDescriptors().filter((to) => to === path),
        [],
        "the early sync's descriptor was not closed",
      );
      const pending = await pendingRanges(path);
      // The first window's sync starts at 1 MiB and has finished when close() returns.
      const firstWindow = MIB / BLOCK;
      assert.ok(
        pending.every(([from]) => from >= firstWindow),
        `pending after early writeback: ${JSON.stringify(pending)}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("EarlyWriteback: an early sync that fails is thrown by close(), naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "early-writeback-" });
  try {
    const path = join(dir, "gone");
    await Deno.writeFile(path, new Uint8Array(16));
    const wb = new EarlyWriteback(path, 8);
    await Deno.remove(path); // the sync's own open then fails, as a failing disk's fdatasync would
    wb.wrote(8);
    wb.wrote(8); // no second sync while one is failing
    await assert.rejects(wb.close(), (err: Error) => err.message.startsWith(`${path}:`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The local shadow WAL: durable copies of every committed WAL frame, one file per WAL incarnation
 * ("index"), kept beside the database until uploaded. Layout (same shape as Litestream's, under our
 * own directory name so the two tools never share state):
 *
 *   <dir>/.<db>-vigocli/generation                       current generation name
 *   <dir>/.<db>-vigocli/generations/<gen>/wal/<%08x>.wal  shadow WAL of one index
 *
 * A shadow file is a valid WAL: the real WAL's header followed by whole committed frames, so each
 * uploaded segment is a byte range of it and a restore can hand the concatenation to SQLite.
 */
import { mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createAtomicFile } from "../fsutil/atomic_file.ts";
import { removeNamed } from "../fsutil/remove_named.ts";
import { sweepStaleTemps } from "../fsutil/stale_temps.ts";
import { hex8 } from "../litestream/paths.ts";
import { parseWalHeader, WAL_HEADER_SIZE, type WalHeader } from "../sqlite/wal_format.ts";
import { walkFrames } from "./wal_copier.ts";

const WAL_FILE_RE = /^([0-9a-f]{8})\.wal$/;

/** In-memory state of the shadow WAL being appended to. */
export interface ShadowState {
  generation: string;
  index: number;
  header: WalHeader;
  /** The raw 32 header bytes. */
  headerBytes: Uint8Array;
  /** Committed size of the shadow file (header + whole transactions). */
  size: number;
  /** WAL checksum at `size`. */
  checksum: [number, number];
}

/** Paths and file operations of one database's shadow directory. */
export class ShadowDir {
  /** The metadata directory, `<dir>/.<db>-vigocli`. */
  readonly root: string;

  constructor(dbPath: string) {
    this.root = join(dirname(dbPath), `.${basename(dbPath)}-vigocli`);
  }

  /** Path of the shadow WAL file of `index`. */
  walPath(generation: string, index: number): string {
    return join(this.root, "generations", generation, "wal", `${hex8(index)}.wal`);
  }

  /** Directory for temporary files (snapshots being prepared) on the database's filesystem. */
  tmpDir(): string {
    return join(this.root, "tmp");
  }

  /** The current generation name, or null. */
  async readGeneration(): Promise<string | null> {
    try {
      const s = (await readFile(join(this.root, "generation"), "utf8")).trim();
      return /^[0-9a-f]{16}$/.test(s) ? s : null;
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return null;
      throw err;
    }
  }

  /** Records `generation` as current (atomically) and removes every other generation's files. */
  async writeGeneration(generation: string): Promise<void> {
    await mkdir(this.root, { recursive: true });
    // A replicator killed while writing this left its temp file: gone once that process is dead.
    sweepStaleTemps(this.root);
    const f = await createAtomicFile(join(this.root, "generation"), 0o600);
    try {
      await f.handle.write(`${generation}\n`);
      await f.commit();
    } catch (err) {
      throw await f.abortKeeping(err);
    }
    const gens = await readdir(join(this.root, "generations")).catch(() => [] as string[]);
    for (const g of gens) {
      if (g !== generation) await removeNamed(join(this.root, "generations", g), true);
    }
  }

  /** Shadow WAL indices present for `generation`, ascending. */
  async indices(generation: string): Promise<number[]> {
    const names = await readdir(dirname(this.walPath(generation, 0))).catch(() => [] as string[]);
    return names.map((n) => WAL_FILE_RE.exec(n)).filter((m) => m !== null).map((m) => parseInt(m![1], 16))
      .sort((a, b) => a - b);
  }

  /** Starts shadow index `index` from a real WAL header. */
  async initIndex(generation: string, index: number, headerBytes: Uint8Array): Promise<ShadowState> {
    const header = parseWalHeader(headerBytes);
    if (!header) throw new Error("cannot start a shadow WAL from an invalid WAL header");
    const path = this.walPath(generation, index);
    await mkdir(dirname(path), { recursive: true });
    const hb = headerBytes.slice(0, WAL_HEADER_SIZE);
    await writeFile(path, hb, { mode: 0o600 });
    const fh = await open(path, "r+");
    await fh.sync().finally(() => fh.close());
    return {
      generation,
      index,
      header,
      headerBytes: hb,
      size: WAL_HEADER_SIZE,
      checksum: [header.checksum1, header.checksum2],
    };
  }

  /**
   * Reopens shadow index `index` after a restart: validates the frame chain and truncates any
   * uncommitted or torn tail a crash left behind. Returns null when the file is unusable.
   */
  async loadIndex(generation: string, index: number): Promise<ShadowState | null> {
    const path = this.walPath(generation, index);
    let headerBytes: Uint8Array;
    try {
      headerBytes = (await readFile(path)).subarray(0, WAL_HEADER_SIZE);
    } catch {
      return null;
    }
    const header = parseWalHeader(headerBytes);
    if (!header) return null;
    const end = await walkFrames(path, header, WAL_HEADER_SIZE, [header.checksum1, header.checksum2]);
    const fh = await open(path, "r+");
    try {
      if ((await fh.stat()).size !== end.committedEnd) {
        await fh.truncate(end.committedEnd);
        await fh.sync();
      }
    } finally {
      await fh.close();
    }
    return { generation, index, header, headerBytes, size: end.committedEnd, checksum: end.checksum };
  }

  /** Deletes shadow files of `generation` with an index below `index` (already uploaded). */
  async removeIndicesBelow(generation: string, index: number): Promise<void> {
    for (const i of await this.indices(generation)) {
      if (i < index) await removeNamed(this.walPath(generation, i));
    }
  }
}

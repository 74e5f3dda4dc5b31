/**
 * Names of everything in a Litestream v0.3 replica, as pure functions. The layout (relative to the
 * replica root, `/`-separated on every backend):
 *
 *   generations/<16 lowercase hex>/snapshots/<%08x index>.snapshot.lz4
 *   generations/<16 lowercase hex>/wal/<%08x index>_<%08x offset>.wal.lz4
 *
 * The parsers accept exactly what Litestream v0.3.13 accepts (its regular expressions demand
 * exactly eight lowercase hex digits per number), so a name one side writes the other side lists.
 */
import { randomBytes } from "node:crypto";

/** Directory holding every generation. */
export const GENERATIONS_DIR = "generations";
/** Extension of a snapshot object. */
export const SNAPSHOT_EXT = ".snapshot.lz4";
/** Extension of a WAL segment object. */
export const WAL_SEGMENT_EXT = ".wal.lz4";
/**
 * Largest index or offset that fits the eight hex digits Litestream's parser demands. `%08x` of a
 * larger number prints more digits, which Litestream would then fail to list, so we refuse it.
 */
export const MAX_PATH_NUMBER = 0xffffffff;

const GENERATION_RE = /^[0-9a-f]{16}$/;
const SNAPSHOT_RE = /^([0-9a-f]{8})\.snapshot\.lz4$/;
const WAL_SEGMENT_RE = /^([0-9a-f]{8})_([0-9a-f]{8})\.wal\.lz4$/;

/** A new random generation name: 16 lowercase hex digits (64 random bits), as Litestream makes. */
export function newGenerationName(): string {
  return randomBytes(8).toString("hex");
}

/** True when `s` is a valid generation name (16 lowercase hex digits). */
export function isGenerationName(s: string): boolean {
  return GENERATION_RE.test(s);
}

/** `n` as the 8 lowercase hex digits (`%08x`) Litestream names snapshot and WAL indexes and offsets with. */
export function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function checkedHex8(n: number, what: string): string {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_PATH_NUMBER) {
    throw new RangeError(`${what} must be an integer in [0, 0xffffffff], got ${n}`);
  }
  return hex8(n);
}

function requireGeneration(generation: string): string {
  if (!isGenerationName(generation)) {
    throw new RangeError(
      `invalid generation name ${JSON.stringify(generation)}: want 16 lowercase hex digits`,
    );
  }
  return generation;
}

/** `generations/<gen>`. */
export function generationPath(generation: string): string {
  return `${GENERATIONS_DIR}/${requireGeneration(generation)}`;
}

/** `generations/<gen>/snapshots`. */
export function snapshotsDir(generation: string): string {
  return `${generationPath(generation)}/snapshots`;
}

/** `generations/<gen>/wal`. */
export function walDir(generation: string): string {
  return `${generationPath(generation)}/wal`;
}

/** File name of a snapshot: `<%08x index>.snapshot.lz4`. */
export function formatSnapshotName(index: number): string {
  return `${checkedHex8(index, "snapshot index")}${SNAPSHOT_EXT}`;
}

/** File name of a WAL segment: `<%08x index>_<%08x offset>.wal.lz4`. */
export function formatWalSegmentName(index: number, offset: number): string {
  return `${checkedHex8(index, "WAL index")}_${checkedHex8(offset, "WAL offset")}${WAL_SEGMENT_EXT}`;
}

/** Full key of a snapshot. */
export function snapshotKey(generation: string, index: number): string {
  return `${snapshotsDir(generation)}/${formatSnapshotName(index)}`;
}

/** Full key of a WAL segment. */
export function walSegmentKey(generation: string, index: number, offset: number): string {
  return `${walDir(generation)}/${formatWalSegmentName(index, offset)}`;
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** Index of a snapshot from its key or file name, or null when it is not a snapshot name. */
export function parseSnapshotName(key: string): number | null {
  const m = SNAPSHOT_RE.exec(baseName(key));
  return m ? parseInt(m[1], 16) : null;
}

/** Index and offset of a WAL segment from its key or file name, or null when it is not one. */
export function parseWalSegmentName(key: string): { index: number; offset: number } | null {
  const m = WAL_SEGMENT_RE.exec(baseName(key));
  return m ? { index: parseInt(m[1], 16), offset: parseInt(m[2], 16) } : null;
}

/** What a replica key names, when it names anything Litestream knows. */
export type ParsedKey =
  | { kind: "snapshot"; generation: string; index: number }
  | { kind: "wal"; generation: string; index: number; offset: number };

/**
 * Classifies a full key (`generations/<gen>/snapshots/…` or `…/wal/…`). Anything else (temp files,
 * foreign objects, misnamed files) is null, so listings skip it the way Litestream does.
 */
export function parseReplicaKey(key: string): ParsedKey | null {
  const parts = key.split("/");
  if (parts.length !== 4 || parts[0] !== GENERATIONS_DIR || !isGenerationName(parts[1])) return null;
  const generation = parts[1];
  if (parts[2] === "snapshots") {
    const index = parseSnapshotName(parts[3]);
    return index === null ? null : { kind: "snapshot", generation, index };
  }
  if (parts[2] === "wal") {
    const seg = parseWalSegmentName(parts[3]);
    return seg === null ? null : { kind: "wal", generation, ...seg };
  }
  return null;
}

/** Litestream's textual position, `<gen>/<%08x index>:<offset>`, used in messages. */
export function formatPos(pos: { generation: string; index: number; offset: number }): string {
  return `${pos.generation}/${hex8(pos.index)}:${pos.offset}`;
}

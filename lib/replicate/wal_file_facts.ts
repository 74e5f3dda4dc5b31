/**
 * What the live WAL file says, read straight from disk: its header and size, and whether the frame
 * header at the shadow's end is still the same bytes there (the WAL was not restarted and overwritten
 * under the shadow). wal_sync.ts judges from these facts.
 */
import { statSync } from "node:fs";
import type { ShadowState } from "./shadow_wal.ts";
import { readAtSync } from "./wal_copier.ts";
import {
  frameSize,
  parseFrameHeader,
  parseWalHeader,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  type WalHeader,
} from "../sqlite/wal_format.ts";

/** The live WAL's header (null when it has no valid one) and size. */
export interface WalInfo {
  header: WalHeader | null;
  headerBytes: Uint8Array | null;
  size: number;
}

export function readWalInfo(walPath: string): WalInfo {
  let size = 0;
  try {
    size = statSync(walPath).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const headerBytes = size >= WAL_HEADER_SIZE ? readAtSync(walPath, 0, WAL_HEADER_SIZE) : null;
  return { header: headerBytes ? parseWalHeader(headerBytes) : null, headerBytes, size };
}

/** The frame header just before the shadow's end (`st`, in `shadowWalPath`) is still the same bytes in the live WAL. */
export function anchorStillInWal(walPath: string, shadowWalPath: string, st: ShadowState): boolean {
  if (st.size <= WAL_HEADER_SIZE) return !firstFrameOfAnotherWal(walPath, st.header);
  const off = st.size - frameSize(st.header.pageSize);
  return equalBytes(
    readAtSync(walPath, off, WAL_FRAME_HEADER_SIZE),
    readAtSync(shadowWalPath, off, WAL_FRAME_HEADER_SIZE),
  );
}

function equalBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A shadow without a frame has no frame to compare: its anchor is the live WAL's first frame, which a
 * restart's writer writes over, committed or not. SQLite writes the WAL's salts into every frame header,
 * so a first frame carrying the salts of a live WAL other than the shadow's is that writer's, and the
 * old WAL's commits it overwrote can no longer be copied (a stale frame of an older WAL carries other
 * salts and changes nothing).
 */
function firstFrameOfAnotherWal(walPath: string, shadowHeader: WalHeader): boolean {
  const head = readAtSync(walPath, 0, WAL_HEADER_SIZE);
  const frame = readAtSync(walPath, WAL_HEADER_SIZE, WAL_FRAME_HEADER_SIZE);
  const live = head && parseWalHeader(head);
  if (!live || !frame) return false;
  if (live.salt1 === shadowHeader.salt1 && live.salt2 === shadowHeader.salt2) return false;
  const first = parseFrameHeader(frame);
  return first.salt1 === live.salt1 && first.salt2 === live.salt2;
}

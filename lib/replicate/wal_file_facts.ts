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
  if (st.size <= WAL_HEADER_SIZE) return true;
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

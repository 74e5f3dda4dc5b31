/**
 * The pure part of the tar codec: encode and decode 512-byte POSIX ustar headers and pax extended
 * headers. Only the three entry types an archive of a server tree needs are supported (regular file,
 * directory, symbolic link); names, link targets, sizes, owners and times that do not fit ustar go
 * into a pax `x` record before the entry, as POSIX.1-2001 specifies, so GNU tar, bsdtar and Python's
 * tarfile read it.
 */
import { CodecError } from "../codec_error.ts";

/** Size of a tar block. */
export const BLOCK = 512;

/** The entry types an archive holds. */
export type TarEntryType = "file" | "dir" | "symlink";

/** What one tar entry says about itself. */
export interface TarHeader {
  /** Path inside the archive; directories end in `/`. */
  path: string;
  type: TarEntryType;
  /** Permission bits (and setuid/setgid/sticky), e.g. 0o644. */
  mode: number;
  /** Data size in bytes (0 for directories and links). */
  size: number;
  /** Modification time in whole seconds since the epoch (negative before 1970). */
  mtime: number;
  uid: number;
  gid: number;
  /** Target of a symbolic link. */
  linkname?: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

const TYPEFLAG: Record<TarEntryType, number> = { file: 0x30, dir: 0x35, symlink: 0x32 };

/** Largest value of the 8-byte octal uid and gid fields. */
const MAX_OCTAL_8 = 0o7777777;
/** Largest value of the 12-byte octal size and mtime fields. */
export const MAX_OCTAL_12 = 0o77777777777;

/** Number of padding bytes after `size` bytes of data to reach a block boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Encodes the header block(s) of one entry: an optional pax `x` record, then the ustar header. */
export function encodeHeader(h: TarHeader): Uint8Array {
  const pax: Record<string, string> = {};
  const pathBytes = enc.encode(h.path);
  let name = h.path;
  if (pathBytes.length > 100 || !isAscii(h.path)) {
    pax.path = h.path;
    name = asciiStub(h.path, 100);
  }
  let linkname = h.linkname ?? "";
  if (enc.encode(linkname).length > 100 || !isAscii(linkname)) {
    pax.linkpath = linkname;
    linkname = asciiStub(linkname, 100);
  }
  if (h.size > MAX_OCTAL_12) pax.size = String(h.size);
  if (h.uid > MAX_OCTAL_8) pax.uid = String(h.uid);
  if (h.gid > MAX_OCTAL_8) pax.gid = String(h.gid);
  if (h.mtime < 0 || h.mtime > MAX_OCTAL_12) pax.mtime = String(h.mtime);
  const ustar = ustarBlock({ ...h, linkname }, name);
  if (Object.keys(pax).length === 0) return ustar;
  const body = encodePaxRecords(pax);
  const paxHeader = ustarBlock(
    { path: "", type: "file", mode: 0o644, size: body.length, mtime: h.mtime, uid: 0, gid: 0 },
    asciiStub(`PaxHeaders/${h.path}`, 100),
    0x78,
  );
  const out = new Uint8Array(BLOCK + body.length + padding(body.length) + BLOCK);
  out.set(paxHeader, 0);
  out.set(body, BLOCK);
  out.set(ustar, BLOCK + body.length + padding(body.length));
  return out;
}

/** Encodes pax records `"<len> key=value\n"`, where len counts the whole record including itself. */
export function encodePaxRecords(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [key, value] of Object.entries(records)) {
    const rest = ` ${key}=${value}\n`;
    const restLen = enc.encode(rest).length;
    let len = restLen + String(restLen).length;
    if (String(len).length !== String(restLen).length) len = restLen + String(len).length;
    text += `${len}${rest}`;
  }
  return enc.encode(text);
}

/** Decodes pax records; throws {@link CodecError} on a malformed record. */
export function decodePaxRecords(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    if (space < 0) throw new CodecError("malformed pax header record");
    const len = Number(dec.decode(data.subarray(off, space)));
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length || data[off + len - 1] !== 0x0a) {
      throw new CodecError("malformed pax header record");
    }
    const record = dec.decode(data.subarray(space + 1, off + len - 1));
    const eq = record.indexOf("=");
    if (eq < 0) throw new CodecError("malformed pax header record");
    out[record.slice(0, eq)] = record.slice(eq + 1);
    off += len;
  }
  return out;
}

/** A decoded header block before pax records are applied. */
export interface RawHeader {
  /** The ustar typeflag character, e.g. "0", "5", "2", "x", "g". */
  typeflag: string;
  path: string;
  linkname: string;
  mode: number;
  size: number;
  mtime: number;
  uid: number;
  gid: number;
}

/** True when the block is all zeros (end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Decodes one ustar header block, verifying its checksum. */
export function decodeHeaderBlock(block: Uint8Array): RawHeader {
  const stored = readOctal(block, 148, 8);
  if (stored !== headerChecksum(block)) throw new CodecError("tar header checksum mismatch");
  const magic = dec.decode(block.subarray(257, 262));
  const name = readString(block, 0, 100);
  const prefix = magic === "ustar" ? readString(block, 345, 155) : "";
  const flag = block[156] === 0 ? "0" : String.fromCharCode(block[156]);
  return {
    typeflag: flag,
    path: prefix ? `${prefix}/${name}` : name,
    linkname: readString(block, 157, 100),
    mode: readOctal(block, 100, 8),
    size: readOctal(block, 124, 12),
    mtime: readOctal(block, 136, 12),
    uid: readOctal(block, 108, 8),
    gid: readOctal(block, 116, 8),
  };
}

/** Maps a ustar typeflag to an entry type; other types are refused. */
export function entryTypeOf(typeflag: string, path: string): TarEntryType {
  if (typeflag === "0" || typeflag === "7") return "file";
  if (typeflag === "5") return "dir";
  if (typeflag === "2") return "symlink";
  throw new CodecError(`unsupported tar entry type '${typeflag}' for ${path}`);
}

// Long names always go into pax records, so the ustar prefix field stays empty. A uid, gid or mtime
// that does not fit is carried by a pax record and its field holds 0, as GNU tar and Python write it.
function ustarBlock(h: TarHeader, name: string, flag = TYPEFLAG[h.type]): Uint8Array {
  const b = new Uint8Array(BLOCK);
  writeString(b, 0, 100, name);
  writeOctal(b, 100, 8, h.mode & 0o7777);
  writeOctal(b, 108, 8, h.uid > MAX_OCTAL_8 ? 0 : h.uid);
  writeOctal(b, 116, 8, h.gid > MAX_OCTAL_8 ? 0 : h.gid);
  writeOctal(b, 124, 12, Math.min(h.size, MAX_OCTAL_12));
  writeOctal(b, 136, 12, h.mtime < 0 || h.mtime > MAX_OCTAL_12 ? 0 : h.mtime);
  b.fill(0x20, 148, 156);
  b[156] = flag;
  writeString(b, 157, 100, h.linkname ?? "");
  writeString(b, 257, 6, "ustar");
  writeString(b, 263, 2, "00");
  writeOctal(b, 148, 7, headerChecksum(b));
  return b;
}

function headerChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i];
  return sum;
}

function writeString(b: Uint8Array, off: number, len: number, s: string): void {
  const bytes = enc.encode(s);
  b.set(bytes.subarray(0, len), off);
}

function writeOctal(b: Uint8Array, off: number, len: number, n: number): void {
  writeString(b, off, len, n.toString(8).padStart(len - 1, "0"));
}

function readString(b: Uint8Array, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return dec.decode(nul < 0 ? field : field.subarray(0, nul));
}

function readOctal(b: Uint8Array, off: number, len: number): number {
  // GNU base-256 encoding (high bit set) for values too large for octal.
  if (b[off] & 0x80) {
    let n = 0;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + b[i];
    return n;
  }
  const s = readString(b, off, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new CodecError("tar header has a malformed number field");
  return parseInt(s, 8);
}

function isAscii(s: string): boolean {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(s);
}

/** A ustar-safe stand-in for a name carried in a pax record (readers that ignore pax see this). */
function asciiStub(s: string, max: number): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[^\x00-\x7f]/g, "_").slice(0, max);
}

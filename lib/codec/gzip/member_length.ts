/**
 * The member-length subfield of the archive's gzip members (docs/archive-format.md, section 3). A gzip
 * member does not say where it ends: only inflating it finds the end, so a reader cannot hand the next
 * member to another thread before this one is inflated. Each member the archive writer makes carries
 * its own total length in an RFC 1952 "extra field" subfield (as BGZF does for BAM files), which every
 * gzip reader skips, so readers that know it can split the stream and inflate members in parallel.
 */

/** The subfield's ID, SI1 SI2 = "VL" (Vigo length). */
export const LENGTH_SUBFIELD_ID = [0x56, 0x4c] as const;
/** Bytes the subfield adds to a member: XLEN (2) + SI1 SI2 LEN (4) + the length (4). */
export const LENGTH_SUBFIELD_BYTES = 10;
/** Fixed part of a gzip member header (RFC 1952 section 2.3). */
const FIXED_HEADER = 10;
/** CRC-32 and ISIZE. */
const TRAILER = 8;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const RESERVED_FLAGS = 0xe0;

/**
 * `member` (one complete gzip member without an extra field, as zlib and libdeflate make them) with
 * the length subfield added: a new array of `member.length + LENGTH_SUBFIELD_BYTES` bytes.
 */
export function withLengthSubfield(member: Uint8Array): Uint8Array {
  if (member.length < FIXED_HEADER + TRAILER || member[0] !== 0x1f || member[1] !== 0x8b) {
    throw new RangeError("not a gzip member");
  }
  if (member[3] & FEXTRA) throw new RangeError("the member already has an extra field");
  const total = member.length + LENGTH_SUBFIELD_BYTES;
  const out = new Uint8Array(total);
  out.set(member.subarray(0, FIXED_HEADER));
  out[3] |= FEXTRA;
  const view = new DataView(out.buffer);
  view.setUint16(FIXED_HEADER, 8, true); // XLEN
  out[FIXED_HEADER + 2] = LENGTH_SUBFIELD_ID[0];
  out[FIXED_HEADER + 3] = LENGTH_SUBFIELD_ID[1];
  view.setUint16(FIXED_HEADER + 4, 4, true); // LEN
  view.setUint32(FIXED_HEADER + 6, total, true);
  out.set(member.subarray(FIXED_HEADER), FIXED_HEADER + LENGTH_SUBFIELD_BYTES);
  return out;
}

/** What the start of a member says about it. */
export type MemberHead =
  /** `need` bytes of the member must be at hand before it can be read. */
  | { kind: "more"; need: number }
  /** The member carries no length subfield: only inflating it finds its end. */
  | { kind: "unsized" }
  /** The member is `length` bytes long, header to trailer. */
  | { kind: "sized"; length: number };

/**
 * Reads the header at the start of `head` (the first bytes of a member, as many as are at hand).
 * Throws a RangeError naming the fault when the bytes cannot start a gzip member, or when a length
 * subfield is malformed or shorter than the header and trailer around it.
 */
export function readMemberHead(head: Uint8Array): MemberHead {
  if (head.length < FIXED_HEADER) return { kind: "more", need: FIXED_HEADER };
  if (head[0] !== 0x1f || head[1] !== 0x8b) throw new RangeError("no gzip magic at the start of a member");
  if (head[2] !== 8) throw new RangeError(`compression method ${head[2]} (only 8, deflate, exists)`);
  const flags = head[3];
  if (flags & RESERVED_FLAGS) throw new RangeError(`reserved header flags set (0x${flags.toString(16)})`);
  if (!(flags & FEXTRA)) return { kind: "unsized" };
  if (head.length < FIXED_HEADER + 2) return { kind: "more", need: FIXED_HEADER + 2 };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const extraEnd = FIXED_HEADER + 2 + view.getUint16(FIXED_HEADER, true);
  if (head.length < extraEnd) return { kind: "more", need: extraEnd };
  let length: number | undefined;
  for (let at = FIXED_HEADER + 2; at < extraEnd;) {
    if (at + 4 > extraEnd) throw new RangeError("the extra field ends inside a subfield header");
    const len = view.getUint16(at + 2, true);
    if (at + 4 + len > extraEnd) throw new RangeError("a subfield runs past the extra field");
    if (head[at] === LENGTH_SUBFIELD_ID[0] && head[at + 1] === LENGTH_SUBFIELD_ID[1]) {
      if (len !== 4) throw new RangeError(`a length subfield of ${len} bytes (must be 4)`);
      if (length !== undefined) throw new RangeError("two length subfields");
      length = view.getUint32(at + 4, true);
    }
    at += 4 + len;
  }
  if (length === undefined) return { kind: "unsized" };
  // The shortest deflate stream (one empty fixed-Huffman final block) is 2 bytes.
  if (length < extraEnd + 2 + TRAILER) {
    throw new RangeError(
      `the length subfield says ${length} bytes, less than the member's header and trailer`,
    );
  }
  return { kind: "sized", length };
}

/** ISIZE from a member's last 4 bytes `trailerEnd` (the uncompressed length modulo 2^32). */
export function inflatedSize(trailerEnd: Uint8Array): number {
  return new DataView(trailerEnd.buffer, trailerEnd.byteOffset, 4).getUint32(0, true);
}

/**
 * Why the header CRC of `member` (a whole member, header to trailer) is wrong, or undefined when the
 * member has none (FLG.FHCRC clear) or it matches: the low 16 bits of the CRC-32 of every header byte
 * before it (RFC 1952 section 2.3.1). zlib checks it, libdeflate (Bun's inflater for whole members)
 * skips it, so the reader checks it itself and every path refuses the same members.
 */
export function headerCrcProblem(member: Uint8Array): string | undefined {
  const flags = member[3];
  if (!(flags & FHCRC)) return undefined;
  let at = FIXED_HEADER;
  if (flags & FEXTRA) at += 2 + (member[at] | (member[at + 1] << 8));
  for (const field of [FNAME, FCOMMENT]) {
    if (!(flags & field)) continue;
    const end = member.indexOf(0, at);
    if (end < 0) return "the member header runs past the member";
    at = end + 1;
  }
  if (at + 2 > member.length) return "the member header runs past the member";
  const stored = member[at] | (member[at + 1] << 8);
  const computed = crc32(member.subarray(0, at)) & 0xffff;
  if (stored === computed) return undefined;
  return `header CRC mismatch (stored 0x${hex4(stored)}, computed 0x${hex4(computed)})`;
}

const hex4 = (n: number) => n.toString(16).padStart(4, "0");

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, as gzip uses) of `bytes`. */
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

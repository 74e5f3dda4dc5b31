/**
 * Reads what a shipped executable needs from its host, straight from the ELF file (no binutils on a
 * bare build host): the machine it runs on, the shared libraries it loads, and the newest symbol
 * version it requires from each (for glibc: the glibc version floor).
 */
import { open } from "node:fs/promises";

/** What a dynamically linked ELF64 little-endian executable asks of its host. */
export interface ElfNeeds {
  /** `e_machine` as a name: `x86_64`, `aarch64`, or `machine <n>`. */
  machine: string;
  /** Program interpreter (dynamic loader), e.g. `/lib64/ld-linux-x86-64.so.2`. */
  interpreter: string;
  /** Every version the executable requires, per library file, e.g. `{ "libc.so.6": ["GLIBC_2.2.5", …] }`. */
  versions: Record<string, string[]>;
  /** The newest `GLIBC_x.y` required across all libraries, e.g. `2.17`. */
  glibcFloor: string;
}

const SHT_GNU_VERNEED = 0x6ffffffe;
const MACHINES: Record<number, string> = { 62: "x86_64", 183: "aarch64" };

/** Compares dotted versions numerically (`2.9` < `2.17`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Parses the ELF header, section headers and `.gnu.version_r` of the file at `path`. */
export async function readElfNeeds(path: string): Promise<ElfNeeds> {
  const fh = await open(path, "r");
  try {
    const read = async (offset: number, length: number): Promise<DataView> => {
      const buf = new Uint8Array(length);
      await fh.read(buf, 0, length, offset);
      return new DataView(buf.buffer);
    };
    const eh = await read(0, 64);
    const magic = eh.getUint32(0, false);
    if (magic !== 0x7f454c46 || eh.getUint8(4) !== 2 || eh.getUint8(5) !== 1) {
      throw new Error(`${path}: not a little-endian ELF64 file`);
    }
    const machineNo = eh.getUint16(18, true);
    const phoff = Number(eh.getBigUint64(32, true));
    const shoff = Number(eh.getBigUint64(40, true));
    const phentsize = eh.getUint16(54, true);
    const phnum = eh.getUint16(56, true);
    const shentsize = eh.getUint16(58, true);
    const shnum = eh.getUint16(60, true);

    let interpreter = "";
    for (let i = 0; i < phnum; i++) {
      const ph = await read(phoff + i * phentsize, phentsize);
      if (ph.getUint32(0, true) !== 3) continue; // PT_INTERP
      const len = Number(ph.getBigUint64(32, true));
      const bytes = new Uint8Array((await read(Number(ph.getBigUint64(8, true)), len)).buffer);
      interpreter = new TextDecoder().decode(bytes).replace(/\0.*$/s, "");
    }

    const sections = [];
    for (let i = 0; i < shnum; i++) {
      const sh = await read(shoff + i * shentsize, shentsize);
      sections.push({
        type: sh.getUint32(4, true),
        offset: Number(sh.getBigUint64(24, true)),
        size: Number(sh.getBigUint64(32, true)),
        link: sh.getUint32(40, true),
        info: sh.getUint32(44, true),
      });
    }
    const versions: Record<string, string[]> = {};
    for (const vr of sections.filter((s) => s.type === SHT_GNU_VERNEED)) {
      const strtab = sections[vr.link];
      const strings = new Uint8Array((await read(strtab.offset, strtab.size)).buffer);
      const str = (at: number) => new TextDecoder().decode(strings.subarray(at, strings.indexOf(0, at)));
      const data = await read(vr.offset, vr.size);
      let at = 0;
      for (let n = 0; n < vr.info; n++) {
        const count = data.getUint16(at + 2, true);
        const file = str(data.getUint32(at + 4, true));
        let aux = at + data.getUint32(at + 8, true);
        for (let k = 0; k < count; k++) {
          (versions[file] ??= []).push(str(data.getUint32(aux + 8, true)));
          aux += data.getUint32(aux + 12, true);
        }
        const next = data.getUint32(at + 12, true);
        if (next === 0) break;
        at += next;
      }
    }
    const glibc = Object.values(versions).flat()
      .map((v) => /^GLIBC_(\d+(?:\.\d+)+)$/.exec(v)?.[1])
      .filter((v): v is string => v !== undefined)
      .sort(compareVersions);
    return {
      machine: MACHINES[machineNo] ?? `machine ${machineNo}`,
      interpreter,
      versions,
      glibcFloor: glibc.at(-1) ?? "none",
    };
  } finally {
    await fh.close();
  }
}

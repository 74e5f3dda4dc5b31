/**
 * Regenerates tests/vectors/archive/fail/: archives every reader must reject, derived from the v1 vector
 * (v1-basic.tar.gz). Each case is NAME.tar.gz, its NAME.tar.gz.sha256 sidecar (correct for the bytes,
 * unless the sidecar is the failure) and NAME.json stating the failure kind, the error class, the CLI's
 * exit code and a message the error must contain. Run by hand when the format changes:
 * `deno run -A tests/archive/make_failure_vectors.ts`; failure_vectors_test.ts reads them as data.
 */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { concatBytes } from "../../lib/bytes.ts";
import { encodeHeader, type TarHeader } from "../../lib/codec/tar/tar_format.ts";
import { TarReader } from "../../lib/codec/tar/tar_reader.ts";
import { TarWriter } from "../../lib/codec/tar/tar_writer.ts";

type Entry = { header: TarHeader; data: Uint8Array };
// deno-lint-ignore no-explicit-any
type Manifest = { format_version: number; entries: any[] };

const VECTORS = new URL("../vectors/archive/", import.meta.url);
const OUT = new URL("fail/", VECTORS);
const enc = new TextEncoder();
const original = await Deno.readFile(new URL("v1-basic.tar.gz", VECTORS));

async function entriesOf(tgz: Uint8Array): Promise<Entry[]> {
  const reader = new TarReader(ReadableStream.from([new Uint8Array(gunzipSync(tgz))]));
  const out: Entry[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body()) parts.push(c.slice());
    out.push({ header: e.header, data: concatBytes(parts) });
  }
  return out;
}

const base = await entriesOf(original);
const manifestOf = (entries: Entry[]): Manifest => JSON.parse(new TextDecoder().decode(entries[0].data));

/** A copy of the v1 entries with the manifest rewritten by `edit` (sizes follow). */
function withManifest(entries: Entry[], edit: (m: Manifest) => void): Entry[] {
  const m = manifestOf(entries);
  edit(m);
  const data = enc.encode(JSON.stringify(m, null, 2) + "\n");
  return [{ header: { ...entries[0].header, size: data.length }, data }, ...entries.slice(1)];
}

async function tarGz(entries: Entry[], opts: { endMarker?: boolean } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const tar = new TarWriter({ write: (c) => Promise.resolve(void parts.push(c.slice())) });
  for (const e of entries) await tar.entry(e.header, [e.data]);
  if (opts.endMarker ?? true) await tar.end();
  return new Uint8Array(gzipSync(concatBytes(parts), { level: 9 }));
}

function flip(b: Uint8Array, at: number): Uint8Array {
  const out = b.slice();
  out[at] ^= 0x01;
  return out;
}

const serverYaml = base.findIndex((e) => e.header.path === "server.yaml");
const caPem = base.findIndex((e) => e.header.path === "tls/ca.pem");
const link = base.findIndex((e) => e.header.path === "stacks/current.yaml");
const file = (path: string, data: Uint8Array): Entry => ({
  header: { path, type: "file", mode: 0o644, size: data.length, mtime: 1773412200, uid: 0, gid: 0 },
  data,
});
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const listed = (path: string, data: Uint8Array) => ({
  path,
  type: "file",
  mode: "0644",
  mtime: 1773412200,
  size: data.length,
  sha256: sha(data),
});
const evil = enc.encode("evil\n");

interface Case {
  name: string;
  expect: string;
  error: "BadInputError" | "VerifyError";
  message: string;
  comment: string;
  archive: Uint8Array;
  /** The sidecar's hash; the archive's own by default. */
  sidecar?: string;
}

const cases: Case[] = [
  {
    name: "not_an_archive",
    expect: "header failure",
    error: "BadInputError",
    message: "not a vigocli archive (neither gzip nor encrypted)",
    comment: "a text file",
    archive: enc.encode("this is not an archive\n"),
  },
  {
    name: "truncated_gzip",
    expect: "truncated",
    error: "BadInputError",
    message: "not a valid gzip stream",
    comment: "v1-basic.tar.gz cut after 700 bytes",
    archive: original.slice(0, 700),
  },
  {
    name: "corrupt_gzip_crc",
    expect: "corrupt",
    error: "BadInputError",
    message: "not a valid gzip stream",
    comment: "v1-basic.tar.gz with one bit of the last member's CRC-32 flipped",
    archive: flip(original, original.length - 6),
  },
  {
    name: "no_end_marker",
    expect: "truncated",
    error: "BadInputError",
    message: "archive is truncated (no end-of-archive marker)",
    comment: "the v1 entries in a complete gzip stream, but the tar lacks its two zero blocks",
    archive: await tarGz(base, { endMarker: false }),
  },
  {
    name: "data_after_end_marker",
    expect: "corrupt",
    error: "BadInputError",
    message: "archive has data after its end-of-archive marker",
    comment: "the v1 archive with a second copy of itself appended (whole gzip members past the end marker)",
    archive: concatBytes([original, original]),
  },
  {
    name: "sidecar_mismatch",
    expect: "sidecar mismatch",
    error: "VerifyError",
    message: "SHA-256 does not match",
    comment: "v1-basic.tar.gz, unchanged, with a sidecar naming another hash",
    archive: original,
    sidecar: "0".repeat(64),
  },
  {
    name: "manifest_not_first",
    expect: "header failure",
    error: "BadInputError",
    message: "archive does not start with manifest.json",
    comment: "the v1 entries with db/ moved before manifest.json",
    archive: await tarGz([base[1], base[0], ...base.slice(2)]),
  },
  {
    name: "unknown_format_version",
    expect: "header failure",
    error: "BadInputError",
    message: "manifest format_version 2 is not supported (expected 1)",
    comment: "the v1 archive with format_version 2 in its manifest",
    archive: await tarGz(withManifest(base, (m) => void (m.format_version = 2))),
  },
  {
    name: "tar_header_checksum",
    expect: "corrupt",
    error: "BadInputError",
    message: "tar header checksum mismatch",
    comment: "the v1 archive with one bit of db/'s tar header (its name) flipped, gzip intact",
    archive: await (async () => {
      const parts: Uint8Array[] = [];
      const tar = new TarWriter({ write: (c) => Promise.resolve(void parts.push(c.slice())) });
      for (const e of base) await tar.entry(e.header, [e.data]);
      await tar.end();
      const raw = concatBytes(parts);
      const manifestBlocks = 512 + Math.ceil(base[0].data.length / 512) * 512;
      raw[manifestBlocks + 1] ^= 0x01;
      return new Uint8Array(gzipSync(raw, { level: 9 }));
    })(),
  },
  {
    name: "unsafe_path_dotdot",
    expect: "unsafe path",
    error: "BadInputError",
    message: "archive entry escapes the target",
    comment: "an extra file stacks/../../evil, listed in the manifest and present in the tar",
    archive: await tarGz([
      ...withManifest(base, (m) => m.entries.push(listed("stacks/../../evil", evil))),
      file("stacks/../../evil", evil),
    ]),
  },
  {
    name: "unsafe_path_absolute",
    expect: "unsafe path",
    error: "BadInputError",
    message: "archive entry has an absolute or malformed path",
    comment: "an extra file /tmp/evil, listed in the manifest and present in the tar",
    archive: await tarGz([
      ...withManifest(base, (m) => m.entries.push(listed("/tmp/evil", evil))),
      file("/tmp/evil", evil),
    ]),
  },
  {
    name: "unsafe_symlink_target",
    expect: "unsafe path",
    error: "BadInputError",
    message: "symbolic link stacks/current.yaml points outside the target",
    comment: "stacks/current.yaml pointing at ../../etc/passwd (in the manifest and the tar)",
    archive: await tarGz(
      withManifest(base, (m) => {
        m.entries.find((e) => e.path === "stacks/current.yaml").target = "../../etc/passwd";
      }).map((e, i) => i === link ? { ...e, header: { ...e.header, linkname: "../../etc/passwd" } } : e),
    ),
  },
  {
    name: "entry_under_symlink",
    expect: "unsafe path",
    error: "BadInputError",
    message: "lies under a symbolic link",
    comment: "an extra file stacks/current.yaml/evil, below the archive's symbolic link",
    archive: await tarGz([
      ...withManifest(base, (m) => m.entries.push(listed("stacks/current.yaml/evil", evil))),
      file("stacks/current.yaml/evil", evil),
    ]),
  },
  {
    name: "content_mismatch",
    expect: "checksum mismatch",
    error: "VerifyError",
    message: "server.yaml does not match its SHA-256 in the manifest",
    comment: "server.yaml's data changed (same size), manifest unchanged",
    archive: await tarGz(base.map((e, i) => i === serverYaml ? { ...e, data: flip(e.data, 0) } : e)),
  },
  {
    name: "unlisted_entry",
    expect: "manifest mismatch",
    error: "VerifyError",
    message: "archive entry tls/extra.pem is not listed in the manifest",
    comment: "an extra file tls/extra.pem in the tar that the manifest does not list",
    archive: await tarGz([...base, file("tls/extra.pem", evil)]),
  },
  {
    name: "mtime_mismatch",
    expect: "manifest mismatch",
    error: "VerifyError",
    message: "archive entry server.yaml: mtime differs from the manifest",
    comment: "server.yaml's tar mtime one second after its manifest entry's",
    archive: await tarGz(
      base.map((e, i) => i === serverYaml ? { ...e, header: { ...e.header, mtime: e.header.mtime + 1 } } : e),
    ),
  },
  {
    name: "missing_entry",
    expect: "manifest mismatch",
    error: "VerifyError",
    message: "archive lacks tls/ca.pem, listed in the manifest",
    comment: "tls/ca.pem left out of the tar, still listed in the manifest",
    archive: await tarGz(base.filter((_, i) => i !== caPem)),
  },
  {
    name: "file_and_directory",
    expect: "unsafe path",
    error: "BadInputError",
    message: "entries stacks/zz and stacks/zz/ are one path, a file and a directory",
    comment: "an extra file stacks/zz and an extra directory stacks/zz/, both in the manifest and the tar",
    archive: await tarGz([
      ...withManifest(base, (m) => {
        m.entries.push(listed("stacks/zz", evil));
        m.entries.push({ path: "stacks/zz/", type: "dir", mode: "0755", mtime: 1773412200 });
      }),
      file("stacks/zz", evil),
      {
        header: { ...file("stacks/zz/", evil).header, type: "dir", mode: 0o755, size: 0 },
        data: new Uint8Array(0),
      },
    ]),
  },
  {
    name: "manifest_without_source",
    expect: "header failure",
    error: "BadInputError",
    message: "manifest source lacks server_root, server_yaml or database (strings)",
    comment: "the v1 archive with source removed from its manifest (restore places the database by it)",
    archive: await tarGz(withManifest(base, (m) => void delete (m as { source?: unknown }).source)),
  },
  {
    name: "created_at_not_a_time",
    expect: "header failure",
    error: "BadInputError",
    message: 'manifest created_at "2026-02-30T00:00:00.000Z": no such time (2026-02 has 28 days)',
    comment: "the v1 archive whose manifest was made on a day that does not exist (the drill reads its age)",
    archive: await tarGz(
      withManifest(
        base,
        (m) => void ((m as { created_at?: string }).created_at = "2026-02-30T00:00:00.000Z"),
      ),
    ),
  },
  {
    name: "uid_out_of_range",
    expect: "corrupt",
    error: "BadInputError",
    message: "bad uid for entry server.yaml",
    comment: "server.yaml's pax uid record 1099511627776 (2^40), a uid no file system holds",
    archive: await tarGz(
      base.map((e, i) => i === serverYaml ? { ...e, header: { ...e.header, uid: 2 ** 40 } } : e),
    ),
  },
  {
    name: "mtime_out_of_range",
    expect: "corrupt",
    error: "BadInputError",
    message: "bad mtime for entry server.yaml",
    comment: "server.yaml's pax mtime record 10000000000000 (beyond a JavaScript Date), the manifest's alike",
    archive: await tarGz(
      withManifest(base, (m) => {
        m.entries.find((e) => e.path === "server.yaml").mtime = 1e13;
      }).map((e, i) => i === serverYaml ? { ...e, header: { ...e.header, mtime: 1e13 } } : e),
    ),
  },
  {
    name: "stacked_pax_headers",
    expect: "corrupt",
    error: "BadInputError",
    message: "archive has an implausibly large tar extended header",
    comment: "three pax extended headers of ~400 KiB each before server.yaml: each below the 1 MiB cap, " +
      "together above it",
    archive: await (async () => {
      const parts: Uint8Array[] = [];
      const tar = new TarWriter({ write: (c) => Promise.resolve(void parts.push(c.slice())) });
      // encodeHeader puts a non-ASCII path into a pax header; its blocks before the ustar one are that header.
      const long = encodeHeader({ ...file(`stacks/${"é".repeat(200_000)}`, evil).header });
      const paxOnly = long.subarray(0, long.length - 512);
      for (const [i, e] of base.entries()) {
        if (i === serverYaml) { for (let n = 0; n < 3; n++) parts.push(paxOnly.slice()); }
        await tar.entry(e.header, [e.data]);
      }
      await tar.end();
      return new Uint8Array(gzipSync(concatBytes(parts), { level: 9 }));
    })(),
  },
];

await Deno.remove(OUT, { recursive: true }).catch(() => {});
await Deno.mkdir(OUT, { recursive: true });
for (const c of cases) {
  const archive = `${c.name}.tar.gz`;
  await Deno.writeFile(new URL(archive, OUT), c.archive);
  await Deno.writeTextFile(new URL(`${archive}.sha256`, OUT), `${c.sidecar ?? sha(c.archive)}  ${archive}\n`);
  const expectation = {
    archive,
    expect: c.expect,
    error: c.error,
    exit_code: c.error === "VerifyError" ? 8 : 4,
    message: c.message,
    comment: c.comment,
  };
  await Deno.writeTextFile(new URL(`${c.name}.json`, OUT), JSON.stringify(expectation, null, 2) + "\n");
  console.log(`wrote fail/${c.name}`);
}

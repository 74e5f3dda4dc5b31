/**
 * Builds hostile archives the way an attacker would: a consistent manifest (the manifest is not
 * authenticated), matching SHA-256s and a matching `.sha256` sidecar, so only the shape checks can
 * stop them. The tar.gz is written by Python's tarfile module, independent of our tar writer.
 */
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { Buffer } from "node:buffer";

const encodeBase64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** One archive member. */
export type Member =
  | { path: string; type: "file"; data: Uint8Array; mode?: number }
  | { path: string; type: "dir"; mode?: number }
  | { path: string; type: "symlink"; target: string };

/** A small valid database file with `rows` rows in table t. */
export function databaseBytes(path: string, rows: number): Uint8Array {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE t(n INTEGER)");
  for (let i = 0; i < rows; i++) db.exec(`INSERT INTO t VALUES (${i})`);
  db.close();
  return readFileSync(path);
}

const PY = `
import base64, io, json, sys, tarfile
spec = json.load(sys.stdin)
with tarfile.open(spec["out"], "w:gz", format=tarfile.PAX_FORMAT, compresslevel=1) as t:
    def add(name, data=None, kind=tarfile.REGTYPE, mode=0o644, link=""):
        ti = tarfile.TarInfo(name); ti.type = kind; ti.mode = mode; ti.mtime = 1700000000
        ti.linkname = link
        if data is not None: ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
    add("manifest.json", base64.b64decode(spec["manifest"]))
    for m in spec["members"]:
        if m["type"] == "file": add(m["path"], base64.b64decode(m["data"]), mode=m["mode"])
        elif m["type"] == "dir": add(m["path"], kind=tarfile.DIRTYPE, mode=m["mode"])
        else: add(m["path"], kind=tarfile.SYMTYPE, mode=0o777, link=m["target"])
`;

/**
 * Writes `out` (and `out.sha256`) holding `members` and a manifest describing them exactly;
 * `source` overrides the manifest's `source` (e.g. a hostile `database`), `db` its page facts.
 */
export async function writeArchive(
  out: string,
  members: Member[],
  db: { pageSize: number; pageCount: number },
  source: { server_root: string; server_yaml: string; database: string } = {
    server_root: "/srv/vigo",
    server_yaml: "/srv/vigo/server.yaml",
    database: "/srv/vigo/db/vigo.db",
  },
): Promise<void> {
  const entries = members.map((m) => {
    const base = { path: m.path, type: m.type, mtime: 1700000000 };
    if (m.type === "file") {
      const mode = (m.mode ?? 0o644).toString(8).padStart(4, "0");
      return {
        ...base,
        mode,
        size: m.data.length,
        sha256: createHash("sha256").update(m.data).digest("hex"),
      };
    }
    if (m.type === "dir") return { ...base, mode: (m.mode ?? 0o755).toString(8).padStart(4, "0") };
    return { ...base, mode: "0777", target: m.target };
  });
  const manifest = {
    format: "vigo-backup",
    format_version: 1,
    created_at: "2026-01-01T00:00:00.000Z",
    tool: { name: "vigocli", version: "0.0.0", runtime: "test" },
    sqlite_version: "3.0.0",
    hostname: "attacker",
    source,
    database: { path: "db/vigo.db", page_size: db.pageSize, page_count: db.pageCount, integrity_check: "ok" },
    entries,
  };
  const spec = {
    out,
    manifest: encodeBase64(new TextEncoder().encode(JSON.stringify(manifest))),
    members: members.map((m) =>
      m.type === "file"
        ? { path: m.path, type: "file", mode: m.mode ?? 0o644, data: encodeBase64(m.data) }
        : m.type === "dir"
        ? { path: m.path, type: "dir", mode: m.mode ?? 0o755 }
        : m
    ),
  };
  const child = new Deno.Command("python3", { args: ["-c", PY], stdin: "piped", stderr: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(spec)));
  await w.close();
  const r = await child.output();
  if (r.code !== 0) throw new Error(new TextDecoder().decode(r.stderr));
  const sha = createHash("sha256").update(readFileSync(out)).digest("hex");
  writeFileSync(`${out}.sha256`, `${sha}  ${basename(out)}\n`);
}

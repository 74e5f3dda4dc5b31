/** Unit tests of manifest validation: path and link safety, required fields. */
import fc from "fast-check";
import assert from "node:assert/strict";
import {
  checkArchivePath,
  checkLinkTarget,
  encodeManifest,
  type Manifest,
  parseManifest,
} from "../../lib/archive/manifest.ts";
import { masterKeyAction } from "../../lib/archive/master_key_restore.ts";

const sha = "a".repeat(64);

function manifest(entries: Manifest["entries"]): Manifest {
  return {
    format: "vigo-backup",
    format_version: 1,
    created_at: "2026-03-13T14:30:00.000Z",
    tool: { name: "vigocli", version: "0.1.0", runtime: "deno 2.9.6" },
    sqlite_version: "3.53.2",
    hostname: "h",
    source: {
      server_root: "/srv/vigo",
      server_yaml: "/srv/vigo/server.yaml",
      database: "/srv/vigo/db/vigo.db",
    },
    database: { path: "db/vigo.db", page_size: 4096, page_count: 2, integrity_check: "ok" },
    entries: [
      { path: "db/", type: "dir", mode: "0755", mtime: 0 },
      { path: "db/vigo.db", type: "file", mode: "0644", size: 8192, sha256: sha, mtime: 0 },
      ...entries,
    ],
  };
}

Deno.test("archive paths: relative, inside the layout, no .. or empty segments", () => {
  for (
    const ok of [
      "db/vigo.db",
      "stacks/",
      "stacks/a/b.yaml",
      "secrets/.master.key",
      "server.yaml",
      "tls/x..y",
      // Ordinary characters in a Linux name, which create archives as they are.
      "stacks/a\\..\\x",
      "stacks/C:",
    ]
  ) {
    checkArchivePath(ok);
  }
  const bad: [string, RegExp][] = [
    ["../escape", /escapes/],
    ["stacks/../../x", /escapes/],
    ["stacks/./x", /escapes/],
    ["stacks//x", /escapes/],
    ["/etc/passwd", /absolute/],
    ["C:/x", /outside the known layout/],
    ["", /absolute|malformed/],
    ["etc/passwd", /outside the known layout/],
  ];
  for (const [path, re] of bad) assert.throws(() => checkArchivePath(path), re, path);
});

Deno.test("symlink targets must stay inside the tree", () => {
  checkLinkTarget("stacks/vars/l", "../roles/web.yaml");
  checkLinkTarget("stacks/l", "..");
  checkLinkTarget("stacks/l", "roles/./x");
  for (
    const [p, t] of [["stacks/l", "/etc"], ["stacks/l", "../.."], ["server.yaml", ".."], [
      "stacks/a/l",
      "../../../x",
    ], ["stacks/l", ""]]
  ) {
    assert.throws(() => checkLinkTarget(p, t), /points outside/, `${p} -> ${t}`);
  }
});

Deno.test("parseManifest accepts a good manifest and names what is wrong in a bad one", () => {
  const good = manifest([{ path: "stacks/", type: "dir", mode: "0755", mtime: 0 }]);
  assert.deepEqual(parseManifest(encodeManifest(good)), good);
  const bad: [unknown, RegExp][] = [
    [{ ...good, format_version: 2 }, /format_version 2/],
    [{ ...good, format: "x" }, /not a vigo-backup manifest/],
    [{ ...good, source: null }, /manifest source lacks server_root, server_yaml or database/],
    [{ ...good, source: { ...good.source, database: 5 } }, /manifest source lacks/],
    [
      { ...good, source: { ...good.source, followed: { "secrets/": 1 } } },
      /source\.followed is not an object of strings/,
    ],
    [{ ...good, source: { ...good.source, followed: "x" } }, /source\.followed is not an object of strings/],
    [{ ...good, format_version: "1" }, /manifest format_version "1" is not a number/],
    [{ ...good, created_at: 5 }, /manifest created_at is not a string/],
    [
      { ...good, created_at: "yesterday" },
      /: manifest created_at "yesterday": not an RFC 3339 time with a zone/,
    ],
    [{ ...good, created_at: "2026-02-30T00:00:00Z" }, /created_at "2026-02-30T00:00:00Z": no such time/],
    [manifest([{ path: "db/vigo.db", type: "file", mode: "0644", size: 1, sha256: sha, mtime: 0 }]), /twice/],
    [{ ...good, entries: good.entries.slice(0, 1) }, /does not list db\/vigo\.db/],
    [
      manifest([{ path: "stacks/x", type: "file", mode: "0644", size: 1, sha256: "zz", mtime: 0 }]),
      /sha256 must be 64 lowercase hex digits/,
    ],
    [
      manifest([{
        path: "stacks/x",
        type: "file",
        mode: "0644",
        size: 1,
        sha256: sha.toUpperCase(),
        mtime: 0,
      }]),
      /stacks\/x: sha256 must be 64 lowercase hex digits/,
    ],
    [
      manifest([{ path: "stacks/x", type: "file", mode: "0644", sha256: sha, mtime: 0 }]),
      /stacks\/x lacks a size/,
    ],
    [
      manifest([{
        path: "stacks/x",
        type: "file",
        mode: 644 as unknown as string,
        size: 1,
        sha256: sha,
        mtime: 0,
      }]),
      /bad mode/,
    ],
    [
      manifest([{ path: "stacks/x", type: "file", mode: "9999", size: 1, sha256: sha, mtime: 0 }]),
      /bad mode/,
    ],
    [
      manifest([
        { path: "stacks/l", type: "symlink", mode: "0777", target: "../secrets", mtime: 0 },
        { path: "stacks/l/x", type: "file", mode: "0644", size: 1, sha256: sha, mtime: 0 },
      ]),
      /under a symbolic link/,
    ],
  ];
  for (const [m, re] of bad) {
    assert.throws(() => parseManifest(new TextEncoder().encode(JSON.stringify(m))), re);
  }
  assert.throws(() => parseManifest(new TextEncoder().encode("{not json")), /not valid JSON/);
});

Deno.test("manifest excluded: only the master key, never also an entry; restore decides from it", () => {
  const key = {
    path: "secrets/.master.key",
    type: "file" as const,
    mode: "0600",
    size: 1,
    sha256: sha,
    mtime: 0,
  };
  const without = { ...manifest([]), excluded: ["secrets/.master.key"] };
  assert.deepEqual(parseManifest(encodeManifest(without)).excluded, ["secrets/.master.key"]);
  assert.throws(() => parseManifest(encodeManifest({ ...without, excluded: ["tls/ca.key"] })), /excluded/);
  assert.throws(
    () => parseManifest(encodeManifest({ ...manifest([{ ...key }]), excluded: ["secrets/.master.key"] })),
    /as excluded and as an entry/,
  );
  assert.equal(masterKeyAction(without, false), "warn_missing");
  assert.equal(masterKeyAction(without, true), "install");
  assert.equal(masterKeyAction(manifest([key]), true), "compare");
  assert.equal(masterKeyAction(manifest([]), false), "none");
});

Deno.test("archive paths: the regular-expression check decides exactly as the segment-by-segment rule", () => {
  // The rule as written in docs/archive-format.md, one segment at a time: the reference.
  const reference = (path: string): string | null => {
    const bare = path.endsWith("/") ? path.slice(0, -1) : path;
    if (bare === "" || path.startsWith("/")) return "absolute";
    const parts = bare.split("/");
    if (parts.some((p) => p === ".." || p === "." || p === "" || p.includes("\0"))) return "escapes";
    return ["db", "stacks", "secrets", "tls", "server.yaml"].includes(parts[0]) ? null : "outside";
  };
  const kind = (path: string): string | null => {
    try {
      checkArchivePath(path);
      return null;
    } catch (err) {
      const m = (err as Error).message;
      return /absolute/.test(m) ? "absolute" : /escapes/.test(m) ? "escapes" : "outside";
    }
  };
  const segment = fc.constantFrom(
    "",
    ".",
    "..",
    "...",
    "db",
    "stacks",
    "server.yaml",
    "tls",
    "a\0b",
    "x.y",
    "C:",
    "a\\b",
  );
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 5 }), fc.boolean(), (segments, slash) => {
      const path = segments.join("/") + (slash ? "/" : "");
      assert.equal(kind(path), reference(path), JSON.stringify(path));
    }),
    { numRuns: 3000 },
  );
});

/**
 * Test fixtures for the archive tests: a small but complete server root (database in WAL mode,
 * stacks/ with nested dirs, odd modes, a long name and a symlink, secrets/ with .master.key, tls/,
 * server.yaml) and a tree hash to compare directories exactly (paths, types, modes, contents).
 */
import { join } from "node:path";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";
import { JOURNAL_FORMAT, JOURNAL_VERSION, writeJournal } from "../../lib/archive/restore_journal.ts";
import type { RestoreStep } from "../../lib/archive/restore_steps.ts";

/** A server root made for one test. */
export interface ServerFixture {
  root: string;
  serverYaml: string;
  db: string;
  /** The common flags that point vigocli at this root. */
  flags: string[];
}

/** Builds a server root under a fresh temporary directory. */
export async function makeServerRoot(opts: { rows?: number; yaml?: string } = {}): Promise<ServerFixture> {
  const root = await Deno.makeTempDir({ prefix: "vigo-archive-test-" });
  for (
    const d of [
      "db",
      "stacks/configcrates/system",
      "stacks/roles",
      "stacks/envoys",
      "stacks/vars",
      "secrets/vigo/backup",
      "tls",
      "snapshots",
    ]
  ) {
    await Deno.mkdir(join(root, d), { recursive: true });
  }
  const db = join(root, "db/vigo.db");
  await sqliteQuery(
    db,
    `PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB, n INTEGER);
     WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ${opts.rows ?? 500})
     INSERT INTO t(v, n) SELECT randomblob(300), i FROM c;`,
  );
  const files: [string, string, number][] = [
    ["stacks/roles/web.yaml", "name: web\npackages: [nginx]\n", 0o644],
    ["stacks/envoys/mappings.yaml", "envoys:\n  - match: web1\n", 0o640],
    ["stacks/vars/global.yaml", "ntp: pool.ntp.org\n", 0o600],
    ["stacks/configcrates/system/run.sh", "#!/bin/sh\necho hi\n", 0o755],
    [`stacks/vars/${"long-name-".repeat(14)}.yaml`, "x: 1\n", 0o644],
    ["stacks/vars/ünïcode.yaml", "y: 2\n", 0o644],
    ["secrets/.master.key", "0123456789abcdef0123456789abcdef\n", 0o600],
    ["secrets/vigo/backup/aws_access_key", "sealed-bytes\n", 0o600],
    ["tls/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0o644],
    ["tls/ca_key.pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", 0o600],
  ];
  for (const [rel, text, mode] of files) {
    await Deno.writeTextFile(join(root, rel), text);
    await Deno.chmod(join(root, rel), mode);
  }
  await Deno.writeFile(join(root, "stacks/vars/blob.bin"), crypto.getRandomValues(new Uint8Array(65536)));
  await Deno.writeTextFile(join(root, "stacks/vars/empty.yaml"), "");
  await Deno.symlink("../roles/web.yaml", join(root, "stacks/vars/web-link.yaml"));
  await Deno.chmod(join(root, "stacks/envoys"), 0o750);
  const serverYaml = join(root, "server.yaml");
  await Deno.writeTextFile(serverYaml, opts.yaml ?? "database:\n  driver: sqlite\n");
  return { root, serverYaml, db, flags: ["--server-root", root, "--server-yaml", serverYaml] };
}

/** One line per path below `dir`: type, mode, and content hash (or link target). Sorted. */
export async function treeHash(dir: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const abs = rel ? join(dir, rel) : dir;
    const st = await Deno.lstat(abs);
    const mode = ((st.mode ?? 0) & 0o7777).toString(8);
    if (st.isSymlink) out.push(`${rel} link ${await Deno.readLink(abs)}`);
    else if (st.isFile) {
      const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(abs));
      out.push(
        `${rel} file ${mode} ${
          [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
        }`,
      );
    } else if (st.isDirectory) {
      if (rel) out.push(`${rel}/ dir ${mode}`);
      for await (const e of Deno.readDir(abs)) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (!skip(child)) await walk(child);
      }
    }
  };
  await walk("");
  return out.sort();
}

/** True when `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the journal a restore of `target` by `pid` has written when it is killed mid-commit; its path. */
export function writeKilledJournal(
  j: { pid: number; target: string; staging: string; aside: string; steps: RestoreStep[] },
): Promise<string> {
  return writeJournal({
    format: JOURNAL_FORMAT,
    version: JOURNAL_VERSION,
    started_at: new Date().toISOString(),
    ...j,
  });
}

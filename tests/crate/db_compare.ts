/** Test helper: a schema + data fingerprint of a SQLite database, for round-trip comparisons. */
import { DatabaseSync } from "node:sqlite";

/**
 * Everything a restore must reproduce: user_version, every schema object, every row of every table
 * (sqlite_stat2-4 planner samples excepted: dumps leave them out).
 */
export function dbFingerprint(path: string): unknown {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const schema = db.prepare(
      "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_autoindex%' AND name NOT GLOB 'sqlite_stat[2-9]' " +
        "ORDER BY type, name",
    ).all();
    const tables: Record<string, unknown[]> = {};
    for (const t of schema as { type: string; name: string; sql: string }[]) {
      if (t.type !== "table" || /VIRTUAL/i.test(t.sql)) continue;
      const cols = db.prepare(`PRAGMA table_xinfo("${t.name.replaceAll('"', '""')}")`).all() as {
        name: string;
      }[];
      const list = cols.map((c) => `"${c.name.replaceAll('"', '""')}"`);
      const stmt = db.prepare(
        `SELECT ${list.map((c) => `typeof(${c}), ${c}`).join(", ")} FROM "${t.name.replaceAll('"', '""')}" ` +
          `ORDER BY ${list.join(", ")}`,
      );
      stmt.setReadBigInts(true);
      tables[t.name] = stmt.all().map((r) =>
        Object.values(r).map((v) => v instanceof Uint8Array ? [...v] : v)
      );
    }
    const pragmas = ["user_version", "application_id"].map((p) => db.prepare(`PRAGMA ${p}`).get());
    return { schema, tables, pragmas };
  } finally {
    db.close();
  }
}

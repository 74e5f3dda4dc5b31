/**
 * Deterministic SQL text of a SQLite database (format: docs/dump-format.md). The bytes depend only on
 * the schema and the data: objects in a fixed order (tables, then indexes, views, triggers, each by
 * name), rows in rowid or primary-key order, literals formatted by SQLite's own `quote()` (REALs in 15
 * significant digits, or 17 when 15 do not read back to the same double; BLOBs as X'..', NULL, text with
 * '' escaping).
 * Each INSERT line is built inside SQLite and fetched as raw bytes, so the text of a UTF-8 database is
 * never re-encoded on the way through JavaScript (a UTF-16 database's lines are converted to UTF-8).
 * The caller owns the connection and its read transaction.
 */
import type { DatabaseSync } from "node:sqlite";
import { concatBytes } from "../bytes.ts";

/** First line of every dump; names the format version. */
export const DUMP_HEADER = "-- vigocli sqlite dump v1";

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

interface ColumnInfo {
  name: string;
  pk: number;
  hidden: number;
}

const TYPE_ORDER = ["table", "index", "view", "trigger"];
const CHUNK_BYTES = 1 << 20;
const PAGE_ROWS = 500;
/** octet_length() of the values a page may hold before its last row (a blob's line is twice that: hex). */
const PAGE_BYTES = 512 << 10;
const MAX_ROWID = 2n ** 63n - 1n;
const encoder = new TextEncoder();
const CR = 13;
const QUOTE = 39;
const DOUBLE_QUOTE = 34;
const CR_IN_STRING = encoder.encode("'||char(13)||'");

/** Counts reported by a dump. */
export interface DumpCounts {
  tables: number;
  rows: number;
}

/** Yields the dump as byte chunks of roughly 1 MiB. `counts` is filled in as the dump proceeds. */
export function* dumpSql(
  db: DatabaseSync,
  counts: DumpCounts = { tables: 0, rows: 0 },
): Generator<Uint8Array> {
  const out = new ChunkBuffer();
  const { encoding } = db.prepare("PRAGMA encoding").get() as { encoding: string };
  const schema = (db.prepare(
    "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name",
  ).all() as unknown as SchemaRow[]).sort((a, b) => schemaRank(a) - schemaRank(b));
  out.text(`${DUMP_HEADER}\nPRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n`);
  for (const pragma of ["user_version", "application_id"]) {
    const v = Number((db.prepare(`PRAGMA ${pragma}`).get() as Record<string, number>)[pragma]);
    if (v !== 0) out.text(`PRAGMA ${pragma}=${v};\n`);
  }
  let writableSchema = false;
  for (const obj of schema.filter((o) => o.type === "table")) {
    // stat2-4 hold planner samples some builds cannot even create (no SQLITE_ENABLE_STAT4): left out
    if (/^sqlite_stat[2-9]/.test(obj.name)) continue;
    counts.tables++;
    if (obj.name === "sqlite_sequence") {
      out.text("DELETE FROM sqlite_sequence;\n");
    } else if (obj.name.startsWith("sqlite_stat")) {
      out.text("ANALYZE sqlite_schema;\n");
    } else if (/^CREATE\s+VIRTUAL\s+TABLE/i.test(obj.sql!)) {
      // as sqlite3 .dump does: the module recreates its shadow tables' rows, which are dumped as tables
      if (!writableSchema) out.text("PRAGMA writable_schema=ON;\n");
      writableSchema = true;
      out.text(
        `INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql) VALUES('table',${sqlString(obj.name)},${
          sqlString(obj.name)
        },0,${sqlString(obj.sql!)});\n`,
      );
      continue;
    } else {
      out.text(`${obj.sql};\n`);
    }
    for (const chunk of tableRows(db, obj.name, out, counts, encoding)) yield chunk;
  }
  if (writableSchema) out.text("PRAGMA writable_schema=OFF;\n");
  for (const obj of schema) {
    if (obj.type !== "table") out.text(`${obj.sql};\n`);
  }
  out.text("COMMIT;\n");
  yield* out.drain(true);
}

/** Types in creation order; SQLite's own tables (sqlite_sequence, sqlite_stat1) after the user's tables. */
function schemaRank(o: SchemaRow): number {
  return TYPE_ORDER.indexOf(o.type) * 2 + (o.name.startsWith("sqlite_") ? 1 : 0);
}

function* tableRows(
  db: DatabaseSync,
  table: string,
  out: ChunkBuffer,
  counts: DumpCounts,
  encoding: string,
): Generator<Uint8Array> {
  const cols = db.prepare(`PRAGMA table_xinfo(${sqlIdent(table)})`).all() as unknown as ColumnInfo[];
  // hidden 2/3 = generated columns: SQLite recomputes them, an INSERT must not name them
  const stored = cols.filter((c) => c.hidden === 0);
  const columnList = stored.length === cols.length
    ? ""
    : `(${stored.map((c) => sqlIdent(c.name)).join(",")})`;
  const prefix = `INSERT INTO ${sqlIdent(table)}${columnList} VALUES(`;
  const utf16 = encoding !== "UTF-8";
  const values = stored.map((c) => literal(sqlIdent(c.name), utf16)).join(` || ',' || `);
  const utf8 = utf16 ? utf16ToUtf8(encoding) : (lines: Uint8Array) => lines;
  const line = `${sqlString(prefix)} || ${values} || ');' || char(10)`;
  const order = rowOrder(db, table, cols);
  if (order.rowid) {
    // Keyset pages of whole INSERT lines glued together inside SQLite: one fetch per page instead of
    // one per row, which is where node:sqlite spends its time. A page ends at PAGE_ROWS rows or at the
    // row whose values bring it to PAGE_BYTES, so large rows never pile up into one huge string. The
    // sizes come from the record headers (octet_length() does not load a text or blob); the running
    // total is only needed when the next PAGE_ROWS rows hold more than that. group_concat takes the
    // lines in the subquery's ORDER BY, which SQLite keeps for an aggregate over it (its regression test
    // tkt2942): a group_concat(... ORDER BY r) sorted every page again, 20% of the formatting time.
    const quoted = sqlIdent(table);
    const size = stored.map((c) => `ifnull(octet_length(${sqlIdent(c.name)}),0)`).join(" + ");
    const next = `SELECT ${order.by} AS r, ${size} AS b FROM ${quoted} WHERE ${order.by} >= ?1 ` +
      `ORDER BY ${order.by} LIMIT ${PAGE_ROWS}`;
    const pageEnd = `SELECT CASE WHEN sum(b) < ${PAGE_BYTES} THEN max(r) ELSE (SELECT max(r) FROM ` +
      `(SELECT r, sum(b) OVER (ORDER BY r ROWS UNBOUNDED PRECEDING) - b AS before FROM (${next})) ` +
      `WHERE before < ${PAGE_BYTES}) END FROM (${next})`;
    const page = db.prepare(
      `SELECT max(r) AS m, count(*) AS n, CAST(group_concat(l, '') AS BLOB) AS t FROM (SELECT ${order.by} AS r, ${line} AS l ` +
        `FROM ${quoted} WHERE ${order.by} BETWEEN ?1 AND (${pageEnd}) ORDER BY ${order.by})`,
    );
    page.setReadBigInts(true);
    // inclusive bound, so the first page keeps a rowid of -2^63; the next one starts one past the last
    let from = -(2n ** 63n);
    for (;;) {
      const { m, n, t } = page.get(from) as unknown as { m: bigint | null; n: bigint; t: Uint8Array };
      if (m === null) break;
      out.bytes(escapeCr(utf8(t)));
      counts.rows += Number(n);
      if (out.size >= CHUNK_BYTES) yield* out.drain(false);
      if (m === MAX_ROWID) break;
      from = m + 1n;
    }
    return;
  }
  const stmt = db.prepare(`SELECT CAST(${line} AS BLOB) AS l FROM ${sqlIdent(table)} ORDER BY ${order.by}`);
  for (const row of stmt.iterate() as Iterable<{ l: Uint8Array }>) {
    out.bytes(escapeCr(utf8(row.l)));
    counts.rows++;
    if (out.size >= CHUNK_BYTES) yield* out.drain(false);
  }
}

/**
 * `quote()` of one column; text holding NUL (which quote() would truncate) is written as hex of its
 * UTF-8 bytes. In a UTF-16 database hex() gives UTF-16 bytes, so that hex is put between two NULs
 * instead, which no other literal contains, and utf16ToUtf8 rewrites it.
 */
function literal(col: string, utf16: boolean): string {
  if (utf16) {
    return `CASE WHEN typeof(${col})='text' AND instr(${col},char(0)) ` +
      `THEN 'CAST(X''' || char(0) || hex(${col}) || char(0) || ''' AS TEXT)' ELSE quote(${col}) END`;
  }
  return `CASE WHEN typeof(${col})='text' AND instr(CAST(${col} AS BLOB),X'00') ` +
    `THEN 'CAST(X''' || hex(${col}) || ''' AS TEXT)' ELSE quote(${col}) END`;
}

/**
 * The sqlite3 shell drops a CR before a line end as it reads, so each CR inside a string literal of
 * these INSERT lines is written as '||char(13)||'. Done here rather than in SQL: a byte search of the
 * page is nearly free, where a CR test of every text value made the dump 25% slower. A CR inside a
 * quoted identifier is left alone (a string's quotes there are part of the name).
 */
function escapeCr(lines: Uint8Array): Uint8Array {
  if (lines.indexOf(CR) < 0) return lines;
  const parts: Uint8Array[] = [];
  let inString = false;
  let inIdentifier = false;
  let from = 0;
  for (let i = 0; i < lines.length; i++) {
    const b = lines[i];
    if (b === QUOTE && !inIdentifier) inString = !inString;
    else if (b === DOUBLE_QUOTE && !inString) inIdentifier = !inIdentifier;
    else if (b === CR && inString) {
      parts.push(lines.subarray(from, i), CR_IN_STRING);
      from = i + 1;
    }
  }
  parts.push(lines.subarray(from));
  return concatBytes(parts);
}

/**
 * Converts lines SQLite built in a UTF-16 database (CAST to BLOB gives the database's encoding) to the
 * UTF-8 a dump is written in, replacing each NUL-marked UTF-16 hex of literal() by UTF-8 hex.
 */
function utf16ToUtf8(encoding: string): (lines: Uint8Array) => Uint8Array {
  // ignoreBOM: a value starting with U+FEFF is text like any other, which the default decoder would drop.
  const decoder = new TextDecoder(encoding, { ignoreBOM: true });
  const utf8Hex = (_: string, hex: string) => {
    const units = new Uint8Array(hex.length / 2);
    for (let k = 0; k < units.length; k++) units[k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
    return [...encoder.encode(decoder.decode(units))].map((b) => b.toString(16).padStart(2, "0"))
      .join("").toUpperCase();
  };
  return (lines) => {
    const text = decoder.decode(lines);
    return encoder.encode(text.includes("\0") ? text.replace(/\0([0-9A-F]*)\0/g, utf8Hex) : text);
  };
}

/** rowid order for rowid tables (under whichever alias no column shadows), else the primary key. */
function rowOrder(db: DatabaseSync, table: string, cols: ColumnInfo[]): { by: string; rowid: boolean } {
  const names = new Set(cols.map((c) => c.name.toLowerCase()));
  const alias = ["rowid", "_rowid_", "oid"].find((a) => !names.has(a));
  if (alias) {
    try {
      db.prepare(`SELECT ${alias} FROM ${sqlIdent(table)} LIMIT 0`);
      return { by: alias, rowid: true };
    } catch {
      // WITHOUT ROWID table: fall through to its primary key
    }
  }
  const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  const keys = pk.length > 0 ? pk : cols.filter((c) => c.hidden === 0);
  return { by: keys.map((c) => sqlIdent(c.name)).join(","), rowid: false };
}

/** A double-quoted SQL identifier. */
function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A single-quoted SQL string literal. */
function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Collects small pieces and hands them out as one buffer per ~1 MiB. */
class ChunkBuffer {
  private parts: Uint8Array[] = [];
  size = 0;

  text(s: string): void {
    this.bytes(encoder.encode(s));
  }

  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.byteLength;
  }

  *drain(final: boolean): Generator<Uint8Array> {
    if (this.size === 0 || (!final && this.size < CHUNK_BYTES)) return;
    const buf = concatBytes(this.parts);
    this.parts = [];
    this.size = 0;
    yield buf;
  }
}

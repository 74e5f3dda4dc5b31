/**
 * What SQL a dump may run while it is restored. A dump is data: it may only build the new database
 * (create tables, indexes, views, triggers; insert rows; the few PRAGMAs our dumper and `sqlite3 .dump`
 * write). It must never reach another file: ATTACH (which `VACUUM INTO` also uses), DETACH,
 * extension loading and every other PRAGMA are refused by SQLite itself, through its authorizer, so
 * no parsing trick (comments, quoting, statements inside triggers) gets around the rule.
 */
import { constants, type DatabaseSync } from "node:sqlite";

const C = constants as unknown as Record<string, number>;

/** Action codes a dump's statements may need, and nothing else. */
const ALLOWED_ACTIONS = new Set<number>([
  C.SQLITE_CREATE_INDEX,
  C.SQLITE_CREATE_TABLE,
  C.SQLITE_CREATE_TRIGGER,
  C.SQLITE_CREATE_VIEW,
  C.SQLITE_CREATE_VTABLE,
  C.SQLITE_INSERT,
  C.SQLITE_DELETE,
  C.SQLITE_UPDATE,
  C.SQLITE_READ,
  C.SQLITE_SELECT,
  C.SQLITE_TRANSACTION,
  C.SQLITE_ANALYZE,
  // SQLite asks for REINDEX while it builds the index of a CREATE INDEX
  C.SQLITE_REINDEX,
  C.SQLITE_FUNCTION,
  C.SQLITE_RECURSIVE,
]);

/** PRAGMAs written by our dumper (docs/dump-format.md) and by `sqlite3 .dump`. */
const ALLOWED_PRAGMAS = new Set(["foreign_keys", "user_version", "application_id", "writable_schema"]);

/** SQL functions that reach outside the database. */
const REFUSED_FUNCTIONS = new Set(["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"]);

const ACTION_NAMES = new Map<number, string>(
  Object.entries(C)
    .filter(([k]) => /^SQLITE_[A-Z_]+$/.test(k) && !/^SQLITE_(OK|DENY|IGNORE|COPY|CHANGESET_)/.test(k))
    .map(([k, v]) => [v, k.slice("SQLITE_".length).replaceAll("_", " ")]),
);

/** Installs the dump policy on `db`; `refused()` then says what the last denied statement tried. */
export function restrictToDumpStatements(db: DatabaseSync): { refused(): string | undefined } {
  let last: string | undefined;
  const deny = (what: string) => {
    last = what;
    return C.SQLITE_DENY;
  };
  (db as unknown as {
    setAuthorizer(
      cb: (action: number, a: string | null, b: string | null, dbName: string | null) => number,
    ): void;
  }).setAuthorizer((action, a, b, dbName) => {
    // Only the database being built (and SQLite's own temp schema) may be touched.
    if (dbName !== null && dbName !== "main" && dbName !== "temp") {
      return deny(`access to database ${dbName}`);
    }
    if (action === C.SQLITE_PRAGMA) {
      const name = (a ?? "").toLowerCase();
      return ALLOWED_PRAGMAS.has(name) ? C.SQLITE_OK : deny(`PRAGMA ${name}`);
    }
    if (action === C.SQLITE_FUNCTION) {
      const name = (b ?? "").toLowerCase();
      return REFUSED_FUNCTIONS.has(name) ? deny(`function ${name}()`) : C.SQLITE_OK;
    }
    if (action === C.SQLITE_ATTACH) return deny(a ? `ATTACH or VACUUM INTO ${JSON.stringify(a)}` : "VACUUM");
    return ALLOWED_ACTIONS.has(action) ? C.SQLITE_OK : deny(ACTION_NAMES.get(action) ?? `action ${action}`);
  });
  return { refused: () => last };
}

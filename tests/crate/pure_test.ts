/** The pure cores: names, windows, retention, sizes, excludes, the SQL splitter, the clock. */
import assert from "node:assert/strict";
import { formatSnapshotName, parseSnapshotName } from "../../lib/crate/snapshot_name.ts";
import { snapshotInWindow, windowAt } from "../../lib/crate/schedule.ts";
import { snapshotsToPrune } from "../../lib/crate/retention.ts";
import { parseSize } from "../../lib/crate/size.ts";
import { compileExcludes } from "../../lib/crate/exclude_glob.ts";
import { SqlStatementSplitter } from "../../lib/crate/sql_splitter.ts";
import { currentTime } from "../../lib/crate/clock.ts";
import { BadInputError, ConfigError, InterruptedError, IoError } from "../../lib/errors.ts";
import { RESTORE_DUMP_SWEEP } from "../../lib/crate/dump_restore.ts";
import { leftTemporaryError } from "../../lib/fsutil/left_temp.ts";

const t = (s: string) => new Date(s);

Deno.test("snapshot names are YYYY.JJJ.HH.MM in UTC and parse back", () => {
  assert.deepEqual(formatSnapshotName(t("2026-01-01T00:00:59Z")), "2026.001.00.00");
  assert.deepEqual(formatSnapshotName(t("2026-03-13T14:30:00+02:00")), "2026.072.12.30");
  assert.deepEqual(formatSnapshotName(t("2024-12-31T23:59:00Z")), "2024.366.23.59");
  assert.deepEqual(parseSnapshotName("2024.366.23.59")?.toISOString(), "2024-12-31T23:59:00.000Z");
  assert.deepEqual(parseSnapshotName("2025.366.00.00"), null);
  assert.deepEqual(parseSnapshotName("2025.100.24.00"), null);
  assert.deepEqual(parseSnapshotName("vigo-db"), null);
  assert.deepEqual(parseSnapshotName(".incomplete-2025.100.01.00"), null);
});

Deno.test("schedule windows: daily, hourly, ISO-weekly (Monday) in UTC", () => {
  const now = t("2026-03-13T14:30:00Z"); // a Friday
  assert.deepEqual(windowAt("daily", now).start.toISOString(), "2026-03-13T00:00:00.000Z");
  assert.deepEqual(windowAt("hourly", now).end.toISOString(), "2026-03-13T15:00:00.000Z");
  assert.deepEqual(windowAt("weekly", now).start.toISOString(), "2026-03-09T00:00:00.000Z");
  assert.deepEqual(
    windowAt("weekly", t("2026-03-15T23:59:00Z")).start.toISOString(),
    "2026-03-09T00:00:00.000Z",
  );
  assert.deepEqual(
    windowAt("weekly", t("2026-03-16T00:00:00Z")).start.toISOString(),
    "2026-03-16T00:00:00.000Z",
  );
  const snaps = [t("2026-03-13T02:00:00Z")];
  assert(snapshotInWindow("daily", now, snaps));
  assert.deepEqual(snapshotInWindow("hourly", now, snaps), null);
  assert(snapshotInWindow("weekly", t("2026-03-09T00:00:00Z"), [t("2026-03-15T23:00:00Z")]));
  assert.deepEqual(snapshotInWindow("daily", t("2026-03-14T00:00:00Z"), snaps), null);
});

Deno.test("retention prunes older than retain days, never the newest", () => {
  const snaps = ["2026-03-01", "2026-03-05", "2026-03-10", "2026-03-14"].map((d) => ({
    name: d,
    time: t(`${d}T02:00:00Z`),
  }));
  const now = t("2026-03-15T02:00:00Z");
  assert.deepEqual(snapshotsToPrune(snaps, now, 7).map((s) => s.name), ["2026-03-01", "2026-03-05"]);
  assert.deepEqual(snapshotsToPrune(snaps, now, 30), []);
  // a year later: everything is old, the newest survives
  assert.deepEqual(snapshotsToPrune(snaps, t("2027-03-15T00:00:00Z"), 7).length, 3);
  assert.deepEqual(snapshotsToPrune([], now, 7), []);
  // exactly retain days old is kept
  assert.deepEqual(snapshotsToPrune(snaps, t("2026-03-08T02:00:00Z"), 7), []);
});

Deno.test("sizes are binary units", () => {
  assert.deepEqual(parseSize("1G"), 2 ** 30);
  assert.deepEqual(parseSize("500M"), 500 * 2 ** 20);
  assert.deepEqual(parseSize("1.5GiB"), 1.5 * 2 ** 30);
  assert.deepEqual(parseSize("10k"), 10240);
  assert.deepEqual(parseSize("4096"), 4096);
  assert.deepEqual(parseSize(0), 0);
  assert.deepEqual(parseSize("lots"), null);
  assert.deepEqual(parseSize("-1G"), null);
});

Deno.test("exclude globs: component patterns, path patterns, anchors, **", () => {
  const m = compileExcludes("*.log, cache ,db/*.db-wal,/top,a/**/z");
  assert(m.excludes("x.log"));
  assert(m.excludes("deep/dir/x.log"));
  assert(m.excludes("deep/cache"));
  assert(m.excludes("db/vigo.db-wal"));
  assert(!m.excludes("other/db/vigo.db-wal"));
  assert(m.excludes("top"));
  assert(!m.excludes("sub/top"));
  assert(m.excludes("a/z") && m.excludes("a/b/c/z"));
  assert(!m.excludes("x.logs"));
  assert(!compileExcludes("").excludes("anything"));
  assert(compileExcludes("f[0-9].txt").excludes("f7.txt"));
  assert(!compileExcludes("f[!0-9].txt").excludes("f7.txt"));
});

Deno.test("SQL splitter: quotes, comments, triggers, pieces of any size", () => {
  const statements = [
    "CREATE TABLE t(a);",
    "INSERT INTO t VALUES('a;b''c\n;');",
    "-- a comment; with a semicolon\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a=1; DELETE FROM t WHERE a=';'; END;",
    "INSERT INTO \"we;ird\" VALUES(X'00');",
    "/* block ; */ CREATE TEMP TRIGGER t2 BEFORE DELETE ON t BEGIN SELECT 1; END;",
    "SELECT [x;y] FROM `b;c`;",
  ];
  const sql = statements.join("\n") + "\n";
  const expectedEnds: number[] = [];
  let pos = 0;
  for (const st of statements) {
    pos += st.length;
    expectedEnds.push(pos);
    pos += 1;
  }
  for (const piece of [1, 2, 3, 7, 1000]) {
    const s = new SqlStatementSplitter();
    let out = "";
    const ends: number[] = [];
    for (let i = 0; i < sql.length; i += piece) {
      for (const statement of s.push(sql.slice(i, i + piece))) {
        out += statement;
        ends.push(out.length);
      }
    }
    assert.equal(out + s.rest(), sql, `piece ${piece}`);
    assert.equal(s.rest(), "\n");
    // each statement is handed out on its own, whatever the pieces
    assert.deepEqual(ends, expectedEnds, `piece ${piece}`);
  }
  const s = new SqlStatementSplitter();
  assert.deepEqual(s.push("CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;"), []);
  assert.deepEqual(s.push(" END;"), ["CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END;"]);
  assert.deepEqual(new SqlStatementSplitter().push("INSERT INTO t VALUES('unterminated;"), []);
});

Deno.test("VIGO_NOW overrides the clock; a bad value or a date that does not exist is a ConfigError", () => {
  assert.deepEqual(
    currentTime({ VIGO_NOW: "2026-03-13T14:30:00Z" }).toISOString(),
    "2026-03-13T14:30:00.000Z",
  );
  assert.deepEqual(
    currentTime({ VIGO_NOW: "2026-03-13T16:30:00+02:00" }).toISOString(),
    "2026-03-13T14:30:00.000Z",
  );
  assert.throws(
    () => currentTime({ VIGO_NOW: "yesterday" }),
    (e) => e instanceof ConfigError && /VIGO_NOW/.test(e.message),
  );
  assert.throws(() => currentTime({ VIGO_NOW: "2026-03-13" }), ConfigError);
  // Date.parse would have made these December 1st and the next midnight.
  for (const VIGO_NOW of ["2026-11-31T00:00:00Z", "2026-11-30T24:00:00Z"]) {
    assert.throws(
      () => currentTime({ VIGO_NOW }),
      (e) => e instanceof ConfigError && e.message.startsWith(`VIGO_NOW: "${VIGO_NOW}": no such time (`),
    );
  }
  // One RFC 3339 language with replica restore --timestamp (lib/rfc3339.ts): what the RFC allows
  // (a fraction, t, z, a space for T) is a time, a time without seconds or "+0530" is not.
  for (
    const [VIGO_NOW, iso] of [
      ["2026-03-13T14:30:00.255Z", "2026-03-13T14:30:00.255Z"],
      ["2026-03-13t14:30:00z", "2026-03-13T14:30:00.000Z"],
      ["2026-03-13 16:30:00+02:00", "2026-03-13T14:30:00.000Z"],
    ]
  ) {
    assert.equal(currentTime({ VIGO_NOW }).toISOString(), iso);
  }
  for (const VIGO_NOW of ["2026-03-13T14:30Z", "2026-03-13T14:30:00+0530"]) {
    assert.throws(
      () => currentTime({ VIGO_NOW }),
      (e) =>
        e instanceof ConfigError &&
        e.message === `VIGO_NOW: "${VIGO_NOW}": not an RFC 3339 time with a zone (e.g. 2026-03-13T14:30:00Z)`,
    );
  }
  // An offset that does not exist is named like a field that does not.
  assert.throws(
    () => currentTime({ VIGO_NOW: "2026-03-13T14:30:00+24:00" }),
    (e) =>
      e instanceof ConfigError &&
      e.message === 'VIGO_NOW: "2026-03-13T14:30:00+24:00": no such time (offset hour 24 is past 23)',
  );
  assert(Math.abs(currentTime({}).getTime() - Date.now()) < 5000);
});

Deno.test("a restore-dump's unremovable temporary file: the failure stays the news, its exit code and path", () => {
  const left = "/o/.r.db.tmp-1-0123456789ab";
  const note = `its temporary file ${left} could not be removed (permission denied) and is left for the ` +
    "next restore-dump's sweep";
  const bad = new BadInputError("/d.sql: statement 3 (line 3): no such table: x");
  const e = leftTemporaryError(bad, left, "permission denied", RESTORE_DUMP_SWEEP, false);
  assert.ok(e instanceof BadInputError);
  assert.deepEqual([e.message, e.exitCode, e.kind], [
    `/d.sql: statement 3 (line 3): no such table: x; ${note}`,
    4,
    "bad_input",
  ]);
  // A drill tells its scratch disk's failure from the backup's by IoError.path: still the failure's.
  const errno = new Error("ENOSPC");
  const full = new IoError("/o/r.db: no space left on device", { path: "/o/r.db", cause: errno });
  const io = leftTemporaryError(full, left, "permission denied", RESTORE_DUMP_SWEEP, false);
  assert.ok(io instanceof IoError);
  assert.deepEqual([io.path, io.cause, io.message], [
    "/o/r.db",
    errno,
    `/o/r.db: no space left on device; ${note}`,
  ]);
  // Stopped by its signal: what is left alone, the interrupted line says the rest.
  const reason = new InterruptedError("interrupted (SIGTERM)");
  const stopped = leftTemporaryError(reason, left, "permission denied", RESTORE_DUMP_SWEEP, true);
  assert.ok(stopped instanceof IoError);
  assert.deepEqual([stopped.message, stopped.path, stopped.cause], [note, left, reason]);
});

/**
 * An integrity_check that could not run (SQLite could not open or read the file) is an I/O error
 * naming the file, never a failed check: with `ulimit -n 11`, `backup verify` of a good archive said
 * "contained database fails integrity_check: unable to open database file", exit 8 (found by review).
 */
import assert from "node:assert/strict";
import { checkNotRunError } from "../../lib/sqlite/database_facts.ts";
import { ExitCode, IoError } from "../../lib/errors.ts";

const facts = (integrity: string) => ({ pageSize: 4096, pageCount: 2, integrity });

Deno.test("checkNotRunError: SQLite's open and read failures are exit 11 naming the file; a verdict is not", () => {
  for (const msg of ["unable to open database file", "disk I/O error", "out of memory"]) {
    const err = checkNotRunError(facts(msg), "/s/db/vigo.db");
    assert.ok(err instanceof IoError, msg);
    assert.equal(err.exitCode, ExitCode.Io);
    assert.equal(err.path, "/s/db/vigo.db");
    assert.equal(err.message, `/s/db/vigo.db: integrity_check could not run: ${msg}`);
  }
  for (const verdict of ["ok", "*** in database main ***\nPage 5: btreeInitPage() returns error code 11"]) {
    assert.equal(checkNotRunError(facts(verdict), "/s/db/vigo.db"), null);
  }
  assert.equal(checkNotRunError(facts("database disk image is malformed"), "/s/db/vigo.db"), null);
});

Deno.test("checkNotRunError: a process out of file descriptors is said so", async () => {
  // A child with few descriptors: most are taken, then SQLite's own message is read as the check's.
  const code = `
    import { openSync } from "node:fs";
    import { checkNotRunError } from ${
    JSON.stringify(new URL("../../lib/sqlite/database_facts.ts", import.meta.url).href)
  };
    try { for (;;) openSync("/dev/null", "r"); } catch { /* no descriptor left */ }
    console.log(checkNotRunError({ pageSize: 0, pageCount: 0, integrity: "unable to open database file" }, "/x.db").message);
  `;
  const out = await new Deno.Command("bash", {
    args: ["-c", `ulimit -n 64; exec "$@"`, "bash", Deno.execPath(), "eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    "/x.db: integrity_check could not run: too many open files",
  );
});

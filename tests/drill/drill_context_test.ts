/**
 * How the drill tells its own scratch disk's failure from the backup's (lib/drill/drill_context.ts):
 * by the typed error's path, so that rewording a message cannot turn a full scratch disk into a
 * "fail" that blames a good backup.
 */
import assert from "node:assert/strict";
import { IoError, toVigoError } from "../../lib/errors.ts";
import { sqliteToVigoError } from "../../lib/sqlite/sqlite_errors.ts";
import { isScratchFailure } from "../../lib/drill/drill_context.ts";

const scratch = "/var/tmp/drills/.scratch-x/archive";

/** An fs error as node:fs throws it. */
function errno(code: string): Error {
  return Object.assign(new Error(`${code}: from the system`), { code });
}

Deno.test("isScratchFailure: an I/O error on a file under the scratch directory, whatever its message says", () => {
  // Before, only a message starting with the scratch path counted: this one was a "fail" of the backup.
  assert.equal(
    isScratchFailure(new IoError("the copy ran out of room", { path: `${scratch}/db` }), scratch),
    true,
  );
  assert.equal(isScratchFailure(toVigoError(errno("ENOSPC"), `${scratch}/stacks/a.yaml`), scratch), true);
  assert.equal(isScratchFailure(toVigoError(errno("EIO"), `${scratch}/db/vigo.db`), scratch), true);
  // A restored replica's integrity_check meets SQLite's own wording of a full disk.
  const full = sqliteToVigoError(
    new Error("database or disk is full"),
    "/srv/vigo/db/vigo.db",
    `${scratch}/r.db`,
  );
  assert.equal(isScratchFailure(full, scratch), true);
});

Deno.test("isScratchFailure: not the backup's own files, nor another error kind, nor a message alone", () => {
  assert.equal(isScratchFailure(toVigoError(errno("EIO"), "/srv/backups/archives/a.tar.gz"), scratch), false);
  assert.equal(isScratchFailure(toVigoError(errno("ENOSPC"), `${scratch}-other/x`), scratch), false);
  assert.equal(isScratchFailure(toVigoError(errno("ENOENT"), `${scratch}/x`), scratch), false);
  assert.equal(isScratchFailure(new IoError(`${scratch}/x: no space left on device`), scratch), false);
  assert.equal(isScratchFailure(new Error(`${scratch}/x: no space left on device`), scratch), false);
});

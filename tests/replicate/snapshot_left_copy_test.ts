/**
 * The replicator's snapshot copy (the size of the database) that cannot be removed after its upload.
 * Stored, the snapshot stands and a WARN line names the copy left for the replicator's next start; failed,
 * the upload's failure stays the error and names the copy. Before, rm's raw 'EACCES: permission denied'
 * replaced both: a stored snapshot counted as failed, a failed one lost its cause. The removal fails in
 * the kernel (strace, tests/helpers/unremovable_temp.ts); skipped, saying so, without strace.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";

if (!hasStrace) console.warn("snapshot_left_copy_test: skipped, strace is not installed");

const GENERATION = "0123456789abcdef";

/** A child that uploads a snapshot copy in `dir` to `url` once strace holds it; its outcome and log. */
function uploadOnce(dir: string, url: string): string {
  return `
    import { uploadSnapshot } from "${REPO_ROOT}lib/replicate/snapshotter.ts";
    import { openBackend, replicaClientFor } from "${REPO_ROOT}mod.ts";
    const path = ${JSON.stringify(join(dir, "snapshot-copy.db"))};
    Deno.writeFileSync(path, new Uint8Array(8192).fill(7));
    console.log(JSON.stringify({ temp: path }));
    Deno.stdin.readSync(new Uint8Array(8));
    const events = [];
    const backend = await openBackend(${JSON.stringify(url)});
    try {
      const snap = { path, generation: ${JSON.stringify(GENERATION)}, index: 0, bytes: 8192 };
      await uploadSnapshot(replicaClientFor(backend), snap, (level, msg, fields) => events.push({ level, msg, fields }));
      console.log(JSON.stringify({ ok: true, events }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.exitCode, message: e.message, events }));
    } finally {
      await backend.close();
    }`;
}

const left = (path: string) =>
  `its snapshot copy ${path} could not be removed (permission denied) and is left for the replicator's next start`;

Deno.test({
  name: "replicate: a stored snapshot whose copy cannot be removed stands, and a warning names the copy",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-snapshot-left-" });
    try {
      const replica = join(dir, "replica");
      const { temp, outcome } = await runWithUnremovableTemp(uploadOnce(dir, `file://${replica}`));
      assert.equal(outcome.ok, true, String(outcome.message));
      const events = outcome.events as { level: string; msg: string; fields: Record<string, unknown> }[];
      assert.deepEqual(events.map((e) => [e.level, e.msg]), [["WARN", "snapshot copy left"], [
        "INFO",
        "snapshot written",
      ]]);
      assert.deepEqual(events[0].fields, {
        path: temp,
        problem: "permission denied",
        removed_by: "the replicator's next start",
      });
      assert.ok(existsSync(join(replica, "generations", GENERATION, "snapshots", "00000000.snapshot.lz4")));
      assert.ok(existsSync(temp));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "replicate: a failed snapshot upload whose copy cannot be removed keeps its failure and names the copy",
  ignore: !hasStrace,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-snapshot-left-" });
    try {
      // A replica root that is a file: storing anything under it fails.
      const replica = join(dir, "replica");
      writeFileSync(replica, "not a directory");
      const { temp, outcome } = await runWithUnremovableTemp(uploadOnce(dir, `file://${replica}`));
      assert.equal(outcome.ok, undefined, "the upload should have failed");
      const message = String(outcome.message);
      assert.ok(message.endsWith(`; ${left(temp)}`), message);
      assert.doesNotMatch(message, /^EACCES|permission denied, rm/);
      assert.deepEqual(outcome.events, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

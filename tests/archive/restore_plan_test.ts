/** Unit tests of the restore plan: what is created, replaced and moved aside, in both modes. */
import assert from "node:assert/strict";
import { planRestore, restoreUnits } from "../../lib/archive/restore_plan.ts";
import type { ManifestEntry } from "../../lib/archive/manifest.ts";

const f = (path: string): ManifestEntry => ({
  path,
  type: "file",
  mode: "0644",
  size: 1,
  sha256: "a".repeat(64),
  mtime: 0,
});
const d = (path: string): ManifestEntry => ({ path, type: "dir", mode: "0755", mtime: 0 });
const entries = [d("db/"), f("db/vigo.db"), d("stacks/"), f("stacks/a.yaml"), f("server.yaml")];

Deno.test("full restore: new paths created, existing replaced, extras in replaced trees moved aside", () => {
  const existing = new Set([
    "db/",
    "db/vigo.db",
    "db/vigo.db-wal",
    "db/other.db",
    "stacks/",
    "stacks/old.yaml",
    "tls/",
    "tls/x.pem",
  ]);
  assert.deepEqual(planRestore(entries, existing, false), [
    { action: "replace", path: "db/vigo.db" },
    { action: "replace", path: "stacks/" },
    { action: "create", path: "stacks/a.yaml" },
    { action: "create", path: "server.yaml" },
    { action: "move-aside", path: "db/vigo.db-wal" },
    { action: "move-aside", path: "stacks/old.yaml" },
  ]);
  assert.deepEqual(restoreUnits(entries, false), ["db/vigo.db", "stacks", "server.yaml"]);
});

Deno.test("--db-only: only the database and its companions", () => {
  const existing = new Set(["db/", "db/vigo.db", "db/vigo.db-shm", "stacks/", "stacks/old.yaml"]);
  assert.deepEqual(planRestore(entries, existing, true), [
    { action: "replace", path: "db/vigo.db" },
    { action: "move-aside", path: "db/vigo.db-shm" },
  ]);
  assert.deepEqual(restoreUnits(entries, true), ["db/vigo.db"]);
});

Deno.test("empty target: everything is created", () => {
  assert.ok(planRestore(entries, new Set(), false).every((l) => l.action === "create"));
});

Deno.test("database.path elsewhere: the database and its companions are planned there, db/ is left alone", () => {
  const existing = new Set(["db/", "db/vigo.db", "data/vigo.db", "data/vigo.db-wal"]);
  assert.deepEqual(planRestore(entries, existing, true, "data/vigo.db"), [
    { action: "replace", path: "data/vigo.db" },
    { action: "move-aside", path: "data/vigo.db-wal" },
  ]);
  assert.deepEqual(planRestore(entries, new Set(), false, "data/vigo.db").map((l) => l.path), [
    "data/vigo.db",
    "stacks/",
    "stacks/a.yaml",
    "server.yaml",
  ]);
});

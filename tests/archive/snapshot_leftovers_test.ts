/** isOrphanSidecar: the decision a local prune and its dry run share about a sidecar. */
import assert from "node:assert/strict";
import { isOrphanSidecar, ORPHAN_SIDECAR_AGE_MS } from "../../lib/archive/snapshot_leftovers.ts";

Deno.test("isOrphanSidecar: a regular sidecar, over a minute old, whose archive is gone", () => {
  const names = new Set(["a.tar.gz", "a.tar.gz.sha256", "b.tar.gz.sha256", "c.sha256"]);
  const old = ORPHAN_SIDECAR_AGE_MS;
  const cases: [string, boolean, number, boolean][] = [
    ["b.tar.gz.sha256", true, old, true],
    ["b.tar.gz.sha256", true, old - 1, false], // a create between renaming its sidecar and its archive
    ["b.tar.gz.sha256", false, old, false], // a link or directory of that name is not ours
    ["a.tar.gz.sha256", true, old, false], // its archive is there
    ["c.sha256", true, old, false], // not an archive's sidecar
  ];
  for (const [name, isFile, age, want] of cases) {
    assert.equal(isOrphanSidecar(name, names, isFile, age), want, `${name} ${isFile} ${age}`);
  }
});

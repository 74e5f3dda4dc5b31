/** `backup status` over configcrates that mix the agent's resources with backup ones. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { crateStatus } from "../../lib/status/crate_status.ts";

Deno.test("status: package/file/service resources are not backups and not problems; backup ones are listed", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "stacks/configcrates"), { recursive: true });
    await Deno.writeTextFile(
      join(root, "stacks/configcrates/mixed.yaml"),
      `name: mixed\nresources:\n  - name: pkg\n    type: package\n    package: nginx\n    state: present\n` +
        `  - name: files\n    type: backup\n    source_dir: ${root}/stacks\n    target_path: ${root}/snaps\n`,
    );
    const s = crateStatus(root, new Date());
    assert.deepEqual(s.errors, []);
    assert.deepEqual(s.resources.map((r) => `${r.crate}/${r.resource}:${r.type}`), ["mixed/files:backup"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

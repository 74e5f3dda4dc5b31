/**
 * The order of a create's last system calls, as strace sees them: the archive's temporary file is
 * fsynced before its sidecar is put in place. `prune` removes a sidecar alone once it is a minute old
 * (a dead create's leftover), so a sidecar that waited for a slow fsync of its archive could go.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { cliCommand } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

Deno.test("create fsyncs the archive before its sidecar appears", async () => {
  const fx = await makeServerRoot({ rows: 100 });
  try {
    const out = join(fx.root, "a.tar.gz");
    const log = join(fx.root, "strace.log");
    const [cmd, ...pre] = cliCommand();
    const run = await new Deno.Command("strace", {
      args: [
        "-f",
        "-qq",
        "-y",
        "-o",
        log,
        "-e",
        "trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat",
        cmd,
        ...pre,
        "backup",
        "create",
        ...fx.flags,
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const lines = Deno.readTextFileSync(log).split("\n");
    const archiveTemp = `.${basename(out)}.tmp-`;
    const lastArchiveSync = lines.findLastIndex((l) =>
      /\b(fsync|fdatasync)\(/.test(l) && l.includes(archiveTemp)
    );
    const sidecarPlaced = lines.findIndex((l) =>
      /\b(rename|renameat2?|link|linkat)\(/.test(l) && l.includes(`${out}.sha256"`)
    );
    assert.ok(lastArchiveSync >= 0, `no fsync of ${archiveTemp}… in the trace`);
    assert.ok(sidecarPlaced >= 0, `no rename or link of ${out}.sha256 in the trace`);
    assert.ok(
      lines.slice(0, sidecarPlaced).some((l) => /\b(fsync|fdatasync)\(/.test(l) && l.includes(archiveTemp)),
      `the archive is first fsynced after its sidecar is in place:\n${
        lines.slice(sidecarPlaced - 3, lastArchiveSync + 2).join("\n")
      }`,
    );
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

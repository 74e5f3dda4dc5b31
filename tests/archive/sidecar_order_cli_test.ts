/**
 * The order of the last system calls of create and download, as strace sees them: the archive's
 * temporary file is fsynced before its sidecar is put in place. `prune` removes a sidecar alone once it
 * is a minute old (a dead create's leftover), so a sidecar that waited for a slow fsync of its archive
 * could go. That fsync is the only one of the archive, in create and in download: their commits do not
 * repeat it.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { cliCommand } from "../helpers/cli.ts";
import { makeServerRoot } from "./fixture.ts";

/**
 * Runs the CLI under strace; fails unless `out` was fsynced before `out.sha256` was put in place.
 * Returns how many times `out` was fsynced.
 */
async function assertSyncedBeforeSidecar(args: string[], out: string, dir: string): Promise<number> {
  const log = join(dir, `strace-${basename(out)}.log`);
  const [cmd, ...pre] = cliCommand();
  const run = await new Deno.Command("strace", {
    args: ["-f", "-qq", "-y", "-o", log, "-e", `trace=${TRACED}`, cmd, ...pre, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const lines = Deno.readTextFileSync(log).split("\n");
  const temp = `.${basename(out)}.tmp-`;
  const isSync = (l: string) => /\b(fsync|fdatasync)\(/.test(l) && l.includes(temp);
  const placed = lines.findIndex((l) =>
    /\b(rename|renameat2?|link|linkat)\(/.test(l) && l.includes(`${out}.sha256"`)
  );
  assert.ok(lines.some(isSync), `no fsync of ${temp}… in the trace`);
  assert.ok(placed >= 0, `no rename or link of ${out}.sha256 in the trace`);
  assert.ok(lines.slice(0, placed).some(isSync), `${out}: first fsynced after its sidecar was put in place`);
  return lines.filter(isSync).length;
}

const TRACED = "fsync,fdatasync,rename,renameat,renameat2,link,linkat";

Deno.test("create and download fsync the archive before its sidecar appears, and only then", async () => {
  const fx = await makeServerRoot({ rows: 100 });
  try {
    const remote = join(fx.root, "remote");
    const out = join(fx.root, "a.tar.gz");
    const syncs = await assertSyncedBeforeSidecar(["backup", "create", ...fx.flags, out], out, fx.root);
    assert.equal(syncs, 1, `create fsynced ${out} ${syncs} times`);
    await Deno.mkdir(join(remote, "archives"), { recursive: true });
    await Deno.copyFile(out, join(remote, "archives/a.tar.gz"));
    await Deno.copyFile(`${out}.sha256`, join(remote, "archives/a.tar.gz.sha256"));
    const dl = join(fx.root, "dl.tar.gz");
    const dlSyncs = await assertSyncedBeforeSidecar(
      ["backup", "download", "a.tar.gz", "--url", `file://${remote}`, "-o", dl, ...fx.flags],
      dl,
      fx.root,
    );
    assert.equal(dlSyncs, 1, `download fsynced ${dl} ${dlSyncs} times`);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

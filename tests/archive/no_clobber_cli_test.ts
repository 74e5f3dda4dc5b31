/**
 * A file that appears at the output path while `backup download` or `backup create` is writing is never
 * replaced: the run exits 10 and the file keeps its bytes. Both used to check only at the start and then
 * rename over whatever was there (found by review). The file is made the moment the run's temporary file
 * appears, while the run still has most of its work ahead.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { names } from "../helpers/interrupt.ts";
import { makeServerRoot } from "./fixture.ts";

const EXISTS = 10;

/** Runs `args`, writes "PRECIOUS" at `out` once a temporary file for it appears in its directory. */
async function raceInto(args: string[], out: string): Promise<{ code: number; stderr: string }> {
  const dir = join(out, "..");
  const tempPrefix = `.${out.slice(dir.length + 1)}.tmp-`;
  const child = spawnCli(args);
  const deadline = Date.now() + 60_000;
  while (!names(dir).some((n) => n.startsWith(tempPrefix)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2));
  }
  await Deno.writeTextFile(out, "PRECIOUS");
  const r = await child.output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test("a file made at the output path meanwhile: download and create exit 10, the file kept", async () => {
  const fx = await makeServerRoot({ rows: 150_000 });
  try {
    const remote = join(fx.root, "remote");
    const made = await runCli(["backup", "create", ...fx.flags, `file://${remote}`]);
    assert.equal(made.code, 0, made.stderr);
    const name = names(join(remote, "archives")).find((n) => n.endsWith(".tar.gz"))!;

    const dl = join(fx.root, "dl");
    await Deno.mkdir(dl);
    const outDl = join(dl, name);
    const d = await raceInto(
      ["backup", "download", name, "--url", `file://${remote}`, "-o", outDl, ...fx.flags],
      outDl,
    );
    assert.equal(d.code, EXISTS, d.stderr);
    assert.equal(d.stderr.trim(), `vigocli: ${outDl}: already exists (refusing to overwrite)`);
    assert.equal(await Deno.readTextFile(outDl), "PRECIOUS");
    assert.deepEqual(names(dl), [name], "no sidecar, no temporary file");

    const outDir = join(fx.root, "out");
    await Deno.mkdir(outDir);
    const outCreate = join(outDir, "x.tar.gz");
    const c = await raceInto(["backup", "create", ...fx.flags, outCreate], outCreate);
    assert.equal(c.code, EXISTS, c.stderr);
    assert.equal(await Deno.readTextFile(outCreate), "PRECIOUS");
    assert.deepEqual(names(outDir), ["x.tar.gz"], "no sidecar, no temporary file");
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

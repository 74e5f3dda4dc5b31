/**
 * A file that appears at the output path while `backup download` or `backup create` is writing is never
 * replaced: the run exits 10 and the file keeps its bytes. Both used to check only at the start and then
 * rename over whatever was there (found by review). The file is made the moment the run's temporary file
 * appears, while the run still has most of its work ahead. And `create --upload` whose upload fails at
 * its very end leaves no local archive either (the upload now finishes before the local commit).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { names } from "../helpers/interrupt.ts";
import { makeServerRoot, type ServerFixture } from "./fixture.ts";

const EXISTS = 10;

/**
 * Runs `args`; once a temporary file for `out` appears in its directory, does `meanwhile` (default:
 * writes "PRECIOUS" at `out`).
 */
async function raceInto(
  args: string[],
  out: string,
  meanwhile = () => Deno.writeTextFile(out, "PRECIOUS"),
): Promise<{ code: number; stderr: string }> {
  const dir = join(out, "..");
  const tempPrefix = `.${out.slice(dir.length + 1)}.tmp-`;
  const child = spawnCli(args);
  const deadline = Date.now() + 60_000;
  while (!names(dir).some((n) => n.startsWith(tempPrefix)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2));
  }
  await meanwhile();
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

/** A `file://` backup.url under the fixture's root, with its archives/ made, and an empty local out/. */
async function uploadPlaces(fx: ServerFixture): Promise<{ remote: string; outDir: string }> {
  const remote = join(fx.root, "remote");
  await Deno.writeTextFile(fx.serverYaml, `database:\n  driver: sqlite\nbackup:\n  url: file://${remote}\n`);
  await Deno.mkdir(join(remote, "archives"), { recursive: true });
  const outDir = join(fx.root, "out");
  await Deno.mkdir(outDir);
  return { remote, outDir };
}

Deno.test("create --upload whose upload fails at its end leaves neither the local archive nor a remote one", async () => {
  const fx = await makeServerRoot({ rows: 150_000 });
  try {
    const { remote, outDir } = await uploadPlaces(fx);
    const out = join(outDir, "u.tar.gz");
    // A directory where the upload goes makes its final rename fail. The local file used to be committed
    // first, and stayed (exit 11), so a re-run met exit 10.
    const remoteKey = join(remote, "archives", "u.tar.gz");
    const r = await raceInto(
      ["backup", "create", "--upload", ...fx.flags, out],
      remoteKey,
      () => Deno.mkdir(join(remoteKey, "in-the-way"), { recursive: true }),
    );
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.deepEqual(names(outDir), [], "no local archive, sidecar or temporary file");
    assert.deepEqual(names(join(remote, "archives")).filter((n) => !n.startsWith(".")), ["u.tar.gz"]);
    assert.deepEqual(names(remoteKey), ["in-the-way"], "the directory in the way is left as it was");
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("create --upload: an archive stored under the same remote name meanwhile is kept, exit 10, no local archive", async () => {
  const fx = await makeServerRoot({ rows: 150_000 });
  try {
    const { remote, outDir } = await uploadPlaces(fx);
    const remoteKey = join(remote, "archives", "v.tar.gz");
    // Checked only when the upload started, it used to be replaced by the rename at its end.
    const r = await raceInto(
      ["backup", "create", "--upload", ...fx.flags, join(outDir, "v.tar.gz")],
      remoteKey,
    );
    assert.equal(r.code, EXISTS, r.stderr);
    assert.match(r.stderr, /archives\/v\.tar\.gz: already exists \(refusing to overwrite\)/);
    assert.equal(await Deno.readTextFile(remoteKey), "PRECIOUS");
    assert.deepEqual(names(join(remote, "archives")), ["v.tar.gz"], "no sidecar, no temporary file");
    assert.deepEqual(names(outDir), [], "no local archive either");
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("create --upload whose sidecar cannot be stored removes the archive it uploaded, so a re-run succeeds", async () => {
  const fx = await makeServerRoot({ rows: 150_000 });
  try {
    const { remote, outDir } = await uploadPlaces(fx);
    const remoteKey = join(remote, "archives", "s.tar.gz");
    const blocker = join(`${remoteKey}.sha256`, "in-the-way");
    const r = await raceInto(
      ["backup", "create", "--upload", ...fx.flags, join(outDir, "s.tar.gz")],
      remoteKey,
      () => Deno.mkdir(blocker, { recursive: true }),
    );
    assert.notEqual(r.code, 0, r.stderr);
    // The archive object stayed without its sidecar, and every re-run met exit 10.
    assert.deepEqual(names(join(remote, "archives")).filter((n) => !n.startsWith(".")), ["s.tar.gz.sha256"]);
    assert.deepEqual(names(outDir), []);
    await Deno.remove(`${remoteKey}.sha256`, { recursive: true });
    const again = await runCli(["backup", "create", "--upload", ...fx.flags, join(outDir, "s.tar.gz")]);
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await Deno.remove(fx.root, { recursive: true });
  }
});

/**
 * The format-v1 test vector (tests/vectors/archive/, described in docs/archive-format.md): a fixed
 * archive every later version must still inspect, verify and restore exactly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { sqliteQuery } from "../helpers/sqlite_writer.ts";

const VECTORS = join(REPO_ROOT, "tests/vectors/archive");

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("v1 vector: inspect prints the recorded manifest; verify passes; restore reproduces every entry", async () => {
  const archive = join(VECTORS, "v1-basic.tar.gz");
  const expected = JSON.parse(await Deno.readTextFile(join(VECTORS, "v1-basic.manifest.json")));
  const inspect = await runCli(["backup", "inspect", archive]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.deepEqual(JSON.parse(inspect.stdout), expected);

  const verify = await runCli(["backup", "verify", archive]);
  assert.equal(verify.code, 0, verify.stderr);

  const target = await Deno.makeTempDir({ prefix: "vigo-vector-" });
  const restore = await runCli(["backup", "restore", archive, "--target", target]);
  assert.equal(restore.code, 0, restore.stderr);
  for (const e of expected.entries) {
    const p = join(target, e.path);
    const st = await Deno.lstat(p);
    if (e.type === "file") {
      assert.equal(await sha256(p), e.sha256, e.path);
      assert.equal((st.mode! & 0o7777).toString(8).padStart(4, "0"), e.mode, e.path);
      assert.equal(Math.floor(st.mtime!.getTime() / 1000), e.mtime, e.path);
    } else if (e.type === "symlink") {
      assert.equal(await Deno.readLink(p), e.target);
    } else assert.ok(st.isDirectory, e.path);
  }
  assert.equal(
    await sqliteQuery(join(target, "db/vigo.db"), "SELECT group_concat(name) FROM nodes"),
    "web1,web2,db1",
  );
  assert.equal(await sqliteQuery(join(target, "db/vigo.db"), "PRAGMA integrity_check"), "ok");
  await Deno.remove(target, { recursive: true });
});

/** Owners and times beyond the ustar fields, as the vector's source tree had them (its manifest holds no owners). */
const PAX_OWNERS: Record<string, [number, number]> = {
  "stacks/current.yaml": [2097152, 2097152],
  "stacks/roles/web.yaml": [3000000, 4294967294],
};

/** uid, gid and mtime (whole seconds; "-" for links when `linkTimes` is false) of each entry under `dir`. */
async function ownersAndTimes(dir: string, paths: string[], linkTimes = true): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await Deno.lstat(join(dir, p));
    const mtime = st.isSymlink && !linkTimes ? "-" : Math.floor(st.mtime!.getTime() / 1000);
    out.push(`${p} ${st.uid} ${st.gid} ${mtime}`);
  }
  return out;
}

Deno.test("pax vector: uid, gid and mtime beyond ustar are restored as GNU tar and Python's tarfile read them", async () => {
  const archive = join(VECTORS, "v1-pax-owner-time.tar.gz");
  const expected = JSON.parse(await Deno.readTextFile(join(VECTORS, "v1-pax-owner-time.manifest.json")));
  const byPath = new Map<string, { mtime: number }>(
    expected.entries.map((e: { path: string }) => [e.path, e]),
  );
  assert.equal(byPath.get("stacks/vars/old.yaml")!.mtime, -315619200, "1960-01-01");
  assert.equal(byPath.get("stacks/vars/far.yaml")!.mtime, 10413792000, "2300-01-01");
  assert.equal(byPath.get("stacks/vars/")!.mtime, -1, "1969-12-31 23:59:59");
  const inspect = await runCli(["backup", "inspect", archive]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.deepEqual(JSON.parse(inspect.stdout), expected);
  const verify = await runCli(["backup", "verify", archive]);
  assert.equal(verify.code, 0, verify.stderr);

  // What the archive says by independent readers: the manifest's times, the source's owners.
  const paths: string[] = expected.entries.map((e: { path: string }) => e.path);
  const want = paths.map((p) => {
    const [uid, gid] = PAX_OWNERS[p] ?? [0, 0];
    return `${p} ${uid} ${gid} ${byPath.get(p)!.mtime}`;
  });
  const py = `import tarfile,sys,math
for m in tarfile.open(sys.argv[1]):
  if m.name != "manifest.json": print(m.name + ("/" if m.isdir() else ""), m.uid, m.gid, math.floor(m.mtime))`;
  const python = await new Deno.Command("python3", { args: ["-c", py, archive], stdout: "piped" }).output();
  assert.equal(python.code, 0);
  assert.deepEqual(new TextDecoder().decode(python.stdout).trim().split("\n"), want);

  const work = await Deno.makeTempDir({ prefix: "vigo-vector-" });
  await Deno.mkdir(join(work, "gnu"));
  const gnu = await new Deno.Command("tar", {
    args: ["--numeric-owner", "--same-owner", "-xzf", archive, "-C", join(work, "gnu")],
  }).output();
  assert.equal(gnu.code, 0, new TextDecoder().decode(gnu.stderr));
  assert.deepEqual(await ownersAndTimes(join(work, "gnu"), paths), want);

  const restore = await runCli(["backup", "restore", archive, "--target", join(work, "ours")]);
  assert.equal(restore.code, 0, restore.stderr);
  // restore does not set a symbolic link's own time (nothing reads it)
  const wantOurs = want.map((w) => w.startsWith("stacks/current.yaml ") ? w.replace(/ -?\d+$/, " -") : w);
  assert.deepEqual(await ownersAndTimes(join(work, "ours"), paths, false), wantOurs);
  await Deno.remove(work, { recursive: true });
});

Deno.test("clamped-times vector (written before pax carried mtime): verify passes, restore applies the manifest's times", async () => {
  const archive = join(VECTORS, "v1-clamped-times.tar.gz");
  const inspect = await runCli(["backup", "inspect", archive]);
  assert.equal(inspect.code, 0, inspect.stderr);
  const manifest = JSON.parse(inspect.stdout);
  const verify = await runCli(["backup", "verify", archive]);
  assert.equal(verify.code, 0, verify.stderr);
  const target = await Deno.makeTempDir({ prefix: "vigo-vector-" });
  const restore = await runCli(["backup", "restore", archive, "--target", target]);
  assert.equal(restore.code, 0, restore.stderr);
  const times = new Map<string, number>();
  for (const e of manifest.entries) {
    if (e.type !== "symlink") {
      times.set(e.path, Math.floor((await Deno.lstat(join(target, e.path))).mtime!.getTime() / 1000));
    }
  }
  assert.equal(times.get("stacks/vars/old.yaml"), -315619200, "the tar says 0");
  assert.equal(times.get("stacks/vars/far.yaml"), 10413792000, "the tar says 8589934591");
  assert.equal(times.get("stacks/vars/"), -1);
  for (const [path, mtime] of times) {
    assert.equal(mtime, manifest.entries.find((e: { path: string }) => e.path === path).mtime, path);
  }
  await Deno.remove(target, { recursive: true });
});

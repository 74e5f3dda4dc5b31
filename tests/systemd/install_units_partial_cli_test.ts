/**
 * `install-units --force` that cannot finish, for real: a unit directory on a tmpfs with one inode
 * left (the second temporary file cannot be created) changes nothing and leaves no temporary file; a
 * unit file that is a mount point (its rename fails after others succeeded) changes nothing either:
 * the units already renamed into place are put back. Mounting needs root: without it the tests are skipped, saying so.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { runCli } from "../helpers/cli.ts";
import { makeRoot, type TestRoot } from "../replicate/replicate_env.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("install_units_partial_cli_test: skipped, mounting needs root");

const UNITS = [
  "vigocli-replicate.service",
  "vigocli-crate@.service",
  "vigocli-crate@.timer",
  "vigocli-drill.service",
  "vigocli-drill.timer",
];

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

async function install(r: TestRoot, dir: string) {
  return await runCli(["backup", "install-units", "--server-root", r.root, "--dir", dir, "--force"]);
}

async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  }
  return out;
}

Deno.test({
  name: "install-units --force: a write that fails part-way changes nothing",
  ignore: !isRoot,
  async fn() {
    const r = await makeRoot();
    const dir = `${r.root}/units`;
    await Deno.mkdir(dir);
    await sh(`mount -t tmpfs -o size=1m,nr_inodes=64 tmpfs '${dir}'`);
    try {
      // Every unit but one exists, edited, so --force replaces them; the missing one is created.
      for (const u of UNITS.filter((u) => u !== "vigocli-crate@.service")) {
        await Deno.writeTextFile(`${dir}/${u}`, `# edited by hand: ${u}\n`);
      }
      // Use up the inodes, then free one: room for one temporary file, not for two.
      let n = 0;
      try {
        for (;; n++) await Deno.writeTextFile(`${dir}/fill-${n}`, "");
      } catch (err) {
        if (!String(err).includes("No space left")) throw err;
      }
      await Deno.remove(`${dir}/fill-${n - 1}`);
      const before = await contents(dir);
      // Before, each unit was renamed into place as soon as it was written: replicate.service was
      // replaced and crate@.service created before the third write failed, and the error named only it.
      const res = await install(r, dir);
      assert.equal(res.code, 11, res.stderr);
      assert.match(res.stderr, /^vigocli: .*units\/vigocli-\S+: no space left on device\n$/);
      assert.deepEqual(
        await contents(dir),
        before,
        "the unit directory is as it was, no temporary file left",
      );
    } finally {
      await sh(`umount '${dir}'`);
      await Deno.remove(r.root, { recursive: true });
    }
  },
});

Deno.test({
  name: "install-units --force: a rename that fails part-way puts back the units already installed",
  ignore: !isRoot,
  async fn() {
    const r = await makeRoot();
    const dir = `${r.root}/units`;
    await Deno.mkdir(dir);
    // Every unit but one exists, edited, so --force replaces them; the missing one is created.
    const created = `${dir}/vigocli-crate@.service`;
    for (const u of UNITS.filter((u) => `${dir}/${u}` !== created)) {
      await Deno.writeTextFile(`${dir}/${u}`, `# edited by hand: ${u}\n`);
    }
    await Deno.chmod(`${dir}/vigocli-replicate.service`, 0o640);
    const before = await contents(dir);
    const last = `${dir}/vigocli-drill.timer`;
    // rename(2) onto a mount point fails with EBUSY; reading it (the plan) still works.
    await sh(`mount --bind '${last}' '${last}'`);
    try {
      // Before, the four units renamed before the failure stayed installed beside the old fifth.
      const res = await install(r, dir);
      assert.equal(res.code, 11, res.stderr);
      assert.equal(res.stderr.trim().split("\n").length, 1, res.stderr);
      assert.ok(res.stderr.includes(`${last}: device or resource busy`), res.stderr);
      assert.ok(
        res.stderr.includes("no unit changed (the 4 already renamed into place were put back)"),
        res.stderr,
      );
      assert.deepEqual(
        await contents(dir),
        before,
        "every unit as it was, none created, no temporary file left",
      );
      assert.equal((await Deno.stat(`${dir}/vigocli-replicate.service`)).mode! & 0o777, 0o640);
    } finally {
      await sh(`umount '${last}'`);
      await Deno.remove(r.root, { recursive: true });
    }
  },
});

Deno.test({
  name: "install-units --force: a masked unit (a link to /dev/null) is put back as that link",
  ignore: !isRoot,
  async fn() {
    const r = await makeRoot();
    const dir = `${r.root}/units`;
    await Deno.mkdir(dir);
    for (const u of UNITS) await Deno.writeTextFile(`${dir}/${u}`, `# edited by hand: ${u}\n`);
    const masked = `${dir}/vigocli-replicate.service`;
    await Deno.remove(masked);
    // What `systemctl mask` makes of a unit in /etc/systemd/system.
    await Deno.symlink("/dev/null", masked);
    const last = `${dir}/vigocli-drill.timer`;
    await sh(`mount --bind '${last}' '${last}'`);
    try {
      const res = await install(r, dir);
      assert.equal(res.code, 11, res.stderr);
      assert.ok(res.stderr.includes("no unit changed"), res.stderr);
      // Before, the copy followed the link: an empty regular file with /dev/null's mode, 0666, that any
      // local user could fill with a unit systemd runs as root.
      const st = await Deno.lstat(masked);
      assert.ok(
        st.isSymlink,
        `put back as a ${st.isFile ? `file, mode ${(st.mode! & 0o777).toString(8)}` : "?"}`,
      );
      assert.equal(await Deno.readLink(masked), "/dev/null");
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".")),
        [],
        "no temporary file left",
      );
    } finally {
      await sh(`umount '${last}'`);
      await Deno.remove(r.root, { recursive: true });
    }
  },
});

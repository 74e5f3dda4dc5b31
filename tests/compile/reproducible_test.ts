/**
 * Two builds of the same sources are byte-identical, even from different directories: each build runs
 * from its own frozen copy of the sources (so edits elsewhere in the tree cannot race it), with the
 * build date pinned the way `scripts/compile.ts` pins it to the commit date.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";

const COPIED = ["main.ts", "lib", "scripts", "deno.json", "deno.lock", "node_modules"];

async function snapshotAndBuild(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  // Not cp -a: a deno run from the tree meanwhile (another test file's) makes and removes
  // node_modules/.deno/.deno.lock.poll, and cp fails on a file gone between its listing and its copy;
  // tar leaves it out and only warns (exit 1) of the directory changed as it read it.
  const cp = await new Deno.Command("bash", {
    args: [
      "-c",
      'set -o pipefail; { tar -C "$1" --exclude=.deno.lock.poll --warning=no-file-changed -cf - "${@:3}" ' +
      '|| [ $? -eq 1 ]; } | tar -C "$2" -xf -',
      "bash",
      REPO_ROOT,
      dir,
      ...COPIED,
    ],
  }).output();
  assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/compile.ts", "--compiler", "bun", "--outdir", "dist"],
    cwd: dir,
    env: {
      SOURCE_DATE_EPOCH: "1767225600",
      PATH: `${REPO_ROOT}.tools/node_modules/.bin:${Deno.env.get("PATH")}`,
      GIT_CEILING_DIRECTORIES: dir,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return await Deno.readTextFile(join(dir, "dist/SHA256SUMS"));
}

Deno.test("compile: two builds of the same sources from different directories are byte-identical", async () => {
  const root = await Deno.makeTempDir({ prefix: "vigocli-repro-" });
  try {
    const first = await snapshotAndBuild(join(root, "a"));
    const second = await snapshotAndBuild(join(root, "another-checkout-path"));
    assert.equal(first.split("\n").filter(Boolean).length, 2);
    assert.equal(second, first);
    // the pinned date really is inside the file (else equal hashes would not show it is honoured)
    const exe = await Deno.readFile(join(root, "a/dist/vigocli-x86_64-linux"));
    const needle = new TextEncoder().encode("2026-01-01T00:00:00Z");
    assert.ok(indexOf(exe, needle) >= 0, "pinned build date not found in the executable");
    // nor may the build directory be (Bun inlines CommonJS __dirname as an absolute path unless told)
    assert.equal(indexOf(exe, new TextEncoder().encode(join(root, "a"))), -1, "build directory baked in");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (
    let i = hay.indexOf(needle[0]);
    i >= 0 && i <= hay.length - needle.length;
    i = hay.indexOf(needle[0], i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

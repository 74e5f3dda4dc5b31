/**
 * `./dev test PATH…` (scripts/test.ts, scripts/test_paths.ts, scripts/cli_test_files.ts): a folder stands
 * for every `*_test.ts` under it, a file for itself, and only those run; a path that does not exist is
 * refused naming it.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { testFilesOf } from "../../scripts/test_paths.ts";
import { phaseFiles } from "../../scripts/cli_test_files.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** A tree of test files: `area/` (two tests, one in a subfolder, and a helper), `one_test.ts`, `left_test.ts`. */
async function fixtureTree(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "vigocli-test-paths-" });
  await Deno.mkdir(`${dir}/area/sub`, { recursive: true });
  await Deno.mkdir(`${dir}/empty`);
  const passing = (name: string) => `Deno.test(${JSON.stringify(name)}, () => {});\n`;
  await Deno.writeTextFile(`${dir}/area/a_test.ts`, passing("a"));
  await Deno.writeTextFile(`${dir}/area/sub/b_test.ts`, passing("b"));
  await Deno.writeTextFile(`${dir}/area/helper.ts`, 'throw new Error("not a test file");\n');
  await Deno.writeTextFile(`${dir}/one_test.ts`, passing("one"));
  await Deno.writeTextFile(
    `${dir}/left_test.ts`,
    'Deno.test("left", () => { throw new Error("not asked for"); });\n',
  );
  return dir;
}

Deno.test("testFilesOf: a folder is every *_test.ts under it, a file itself, each once", async () => {
  const dir = await fixtureTree();
  try {
    assert.deepEqual(testFilesOf(["area", "one_test.ts", "area/sub"], dir), [
      `${dir}/area/a_test.ts`,
      `${dir}/area/sub/b_test.ts`,
      `${dir}/one_test.ts`,
    ]);
    assert.throws(() => testFilesOf(["area", "nosuch"], dir), {
      message: "nosuch: no such file or directory",
    });
    assert.throws(() => testFilesOf(["empty"], dir), { message: "empty: no *_test.ts under this folder" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("phaseFiles: phases c and d run the selected files among theirs", () => {
  const all = ["tests/x/a_cli_test.ts", "tests/y/b_cli_test.ts"];
  assert.deepEqual(phaseFiles(all), all);
  assert.deepEqual(phaseFiles(all, [`${REPO}tests/y/b_cli_test.ts`, `${REPO}tests/y/c_test.ts`]), [
    `${REPO}tests/y/b_cli_test.ts`,
  ]);
});

Deno.test("./dev test FOLDER FILE runs exactly the tests they name", async () => {
  const dir = await fixtureTree();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "scripts/test.ts", "--phases", "a", `${dir}/area`, `${dir}/one_test.ts`],
      cwd: REPO,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    // Before, the paths went to deno test beside tests/: the whole suite ran, and left_test.ts was not
    // in it only because it lies outside tests/.
    const files = [`${dir}/area/a_test.ts`, `${dir}/area/sub/b_test.ts`, `${dir}/one_test.ts`];
    assert.ok(stderr.includes(`deno test -A --no-check ${files.join(" ")}\n`), stderr);
    assert.ok(stdout.trimEnd().endsWith("\ntests: 3 passed, 0 failed"), stdout);
    assert.equal(out.code, 0, stdout + stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The layer check (scripts/check_layers.ts): lib/ as it is passes, and each rule fails on a planted
 * violation — in an in-memory file graph, and through the script itself on a planted tree.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { importsOf, layerViolations } from "../../scripts/check_layers.ts";

const SCRIPT = new URL("../../scripts/check_layers.ts", import.meta.url).pathname;

async function runCheck(root?: string): Promise<{ code: number; stderr: string }> {
  const args = ["run", "--allow-read", SCRIPT, ...(root ? ["--root", root] : [])];
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** A graph where every rule is kept: the registry knows the backends, backends share s3_api. */
const CLEAN: Record<string, string> = {
  "lib/errors.ts": "export class E {}\n",
  "lib/cli/app.ts": 'import { ask } from "./password.ts";\nimport { open } from "../backends.ts";\n',
  "lib/cli/password.ts": "export const ask = 1;\n",
  "lib/backends.ts":
    'import { s3 } from "./backend/s3/mod.ts";\nimport { gcs } from "./backend/gcs/mod.ts";\n',
  "lib/backend/backend.ts": 'import { E } from "../errors.ts";\n',
  "lib/backend/s3/mod.ts":
    'import { api } from "../s3_api/api.ts";\nimport type { B } from "../backend.ts";\n',
  "lib/backend/gcs/mod.ts": 'export { api } from "../s3_api/api.ts";\n',
  "lib/backend/s3_api/api.ts": 'import { E } from "../../errors.ts";\nimport { x } from "npm:aws4fetch";\n',
  "lib/codec/tar/tar.ts": 'import { g } from "../gzip/gzip.ts";\nimport { open } from "node:fs/promises";\n',
  "lib/codec/gzip/gzip.ts": 'const w = await import("./worker.ts");\n',
  "lib/archive/read.ts": 'import { t } from "../codec/tar/tar.ts";\n// reads "s3://bucket/x" urls\n',
};

function violations(planted: Record<string, string>) {
  return layerViolations(new Map(Object.entries({ ...CLEAN, ...planted }))).map((v) =>
    `${v.file} -> ${v.imports}: ${v.rule}`
  );
}

Deno.test("layers: import specifiers are found in every form and resolved against the file", () => {
  const src = [
    'import a from "./a.ts";',
    'import type { B } from "../b/b.ts";',
    'export { c } from "./c.ts";',
    'export * from "../d.ts";',
    'import "./side.ts";',
    'const e = await import("../e.ts");',
    'import x from "npm:x";',
    'const url = "s3://bucket/from";',
  ].join("\n");
  assertEquals(importsOf("lib/x/y.ts", src), [
    "lib/x/a.ts",
    "lib/b/b.ts",
    "lib/x/c.ts",
    "lib/d.ts",
    "lib/x/side.ts",
    "lib/e.ts",
  ]);
});

Deno.test("layers: a clean graph passes; each rule fails on its planted violation", () => {
  assertEquals(violations({}), []);
  assertEquals(
    violations({ "lib/archive/read.ts": 'const { ask } = await import("../cli/password.ts");\n' }),
    [
      "lib/archive/read.ts -> lib/cli/password.ts: only lib/cli imports lib/cli",
    ],
  );
  assertEquals(violations({ "lib/backend/gcs/mod.ts": 'import type { S } from "../s3/mod.ts";\n' }), [
    "lib/backend/gcs/mod.ts -> lib/backend/s3/mod.ts: a backend imports no sibling backend",
  ]);
  assertEquals(violations({ "lib/backend/open.ts": 'import { s3 } from "./s3/mod.ts";\n' }), [
    "lib/backend/open.ts -> lib/backend/s3/mod.ts: the generic backend layer imports no concrete backend " +
    "(only lib/backends.ts does)",
  ]);
  assertEquals(violations({ "lib/backend/s3_api/api.ts": 'export { g } from "../gcs/mod.ts";\n' }), [
    "lib/backend/s3_api/api.ts -> lib/backend/gcs/mod.ts: the generic backend layer imports no concrete " +
    "backend (only lib/backends.ts does)",
  ]);
  assertEquals(violations({ "lib/codec/tar/tar.ts": 'import { E } from "../../errors.ts";\n' }), [
    "lib/codec/tar/tar.ts -> lib/errors.ts: lib/codec imports nothing of ours outside lib/codec",
  ]);
});

Deno.test("layers: the script passes on lib/ and exits 8 naming the file on a planted tree", async () => {
  const real = await runCheck();
  assertEquals(real.code, 0, real.stderr);

  const root = await Deno.makeTempDir({ prefix: "vigo-layers-" });
  try {
    const planted = { ...CLEAN, "lib/codec/lz4/lz4.ts": 'import { E } from "../../errors.ts";\n' };
    for (const [path, text] of Object.entries(planted)) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, path), text);
    }
    const bad = await runCheck(root);
    assertEquals(bad.code, 8, bad.stderr);
    assert(
      bad.stderr.includes("lib/codec/lz4/lz4.ts: imports lib/errors.ts: lib/codec imports nothing of ours"),
      bad.stderr,
    );
    await Deno.remove(join(root, "lib/codec/lz4/lz4.ts"));
    assertEquals((await runCheck(root)).code, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

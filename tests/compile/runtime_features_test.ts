/**
 * Every runtime facility and npm package the product relies on works inside a Bun-compiled executable
 * for both architectures (aarch64 under qemu-user), on a bare host: node:sqlite with `backup()`,
 * WebCrypto, node:zlib streams, node:crypto, commander, yaml, hash-wasm's WASM (Argon2id), @noble/*,
 * aws4fetch, ssh2's pure-JS build, the forced collection GarbageBound calls; and `cliArgs()` hands over
 * the arguments untouched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bunBuild, TARGETS } from "../../scripts/compile.ts";
import { runIsolated } from "./isolated.ts";

const ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const ARGS = ["--version", "-e", "x", "--inspect", "--", "a b", "", "ü"];

/** The probe's report when everything works (sqlite/runtime/arch vary and are checked separately). */
const EXPECTED = {
  args: ARGS,
  webcrypto: ABC_SHA256,
  nodeCryptoSha256: true,
  zlib: 1 << 20,
  fs: true,
  commander: true,
  yaml: true,
  hashWasmSha256: true,
  argon2id: "7be9f36cd31f4f337c4741452244ef95",
  nobleSha256: true,
  nobleGcm: 20,
  aws4fetch: true,
  ssh2: true,
};

Deno.test("runtime probe: from sources under deno, every facility works and args pass through", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL("./fixtures/runtime_probe.ts", import.meta.url).pathname, ...ARGS],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual({ ...report, runtime: undefined, arch: undefined, sqlite: undefined }, {
    ...EXPECTED,
    runtime: undefined,
    arch: undefined,
    sqlite: undefined,
    // V8 counts the buffers itself; Deno offers no forced collection, and GarbageBound does nothing.
    forcedCollection: "none",
  });
  assert.match(report.runtime, /^deno /);
});

for (const t of TARGETS) {
  Deno.test(`runtime probe: bun-compiled for ${t.arch}, every facility works on a bare host`, async () => {
    const dir = await Deno.makeTempDir({ prefix: `vigocli-probe-${t.arch}-` });
    try {
      const exe = join(dir, `probe-${t.arch}`);
      const info = { commit: "probe", date: "probe", compiler: "probe", target: `${t.arch}-linux` };
      await bunBuild(t, exe, info, "tests/compile/fixtures/runtime_probe.ts");
      const r = await runIsolated(t, exe, ARGS, dir);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.match(report.sqlite, /^3\.\d+\.\d+$/, `node:sqlite backup: ${report.sqlite}`);
      assert.match(report.runtime, /^bun \d+\.\d+\.\d+$/);
      assert.equal(report.arch, t.arch === "x86_64" ? "x64" : "arm64");
      for (const [key, want] of Object.entries(EXPECTED)) {
        assert.deepEqual(report[key], want, `${key} in ${t.arch}`);
      }
      assert.equal(report.forcedCollection, true, `forced collection (GarbageBound) in ${t.arch}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

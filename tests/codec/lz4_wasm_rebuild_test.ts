/**
 * The embedded WebAssembly LZ4 decoder is exactly what Debian's wat2wasm (package wabt) makes of
 * lz4_decode.wat, so the .wat in the repository is the source of what runs.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { lz4DecoderModule } from "../../lib/codec/lz4/lz4_decode_wasm.ts";

const WAT = fileURLToPath(new URL("../../lib/codec/lz4/lz4_decode.wat", import.meta.url));

Deno.test("the embedded LZ4 decoder is wat2wasm's output for lz4_decode.wat, byte for byte", async () => {
  const out = await new Deno.Command("wat2wasm", {
    args: [WAT, "--output=-"],
    stdout: "piped",
    stderr: "piped",
  })
    .output()
    .catch((err) => {
      throw new Error(`wat2wasm not found (install Debian's wabt: scripts/install_test_deps.sh): ${err}`);
    });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.ok(out.stdout.length > 0, "wat2wasm wrote nothing");
  assert.deepEqual(
    lz4DecoderModule(),
    out.stdout,
    "lib/codec/lz4/lz4_decode_wasm.ts embeds other bytes than lz4_decode.wat assembles to: regenerate " +
      "MODULE_BASE64 with `wat2wasm lib/codec/lz4/lz4_decode.wat --output=- | base64 -w0`",
  );
});

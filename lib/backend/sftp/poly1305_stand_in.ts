/**
 * Under Bun, ssh2's poly1305 module is replaced by a stand-in that instantiates nothing.
 *
 * Why: ssh2 instantiates its WebAssembly poly1305 (chacha20-poly1305's MAC) when it is loaded, 16 MiB of
 * WebAssembly memory whether or not that cipher is negotiated (mscdex/ssh2#1494); under Bun the instance
 * and the engine it brings in cost an SFTP upload 1–2.5 MiB of its peak RSS (README, Design). Bun's node:crypto has no
 * chacha20, so that cipher cannot run there anyway and is never offered under Bun (connection.ts).
 * The stand-in is put in two ways, both Bun's plugin API with {@link SSH2_POLY1305_PLUGIN}: at build
 * time by scripts/bun_build.ts for the executable, and at run time for the sources run by Bun
 * (`replaceModuleUnderBun`, called by ssh2_api.ts before it loads ssh2). Deno keeps ssh2's module.
 */

/** ssh2's poly1305 module (an Emscripten factory with the WebAssembly inlined), by path. */
export const SSH2_POLY1305_PATH = /[\\/]ssh2[\\/]lib[\\/]protocol[\\/]crypto[\\/]poly1305\.js$/;

/**
 * The stand-in's source. ssh2 calls the module's export once at load and awaits its result, takes 16
 * bytes with `_malloc` and wraps `poly1305_auth` with `cwrap`; the wrapped function runs only for a
 * chacha20-poly1305 packet, which is never negotiated where the stand-in is, and would fail loudly if it
 * were. Written as ESM naming its "module.exports", the value `require` returns, so Bun's run-time plugin
 * (which loads a plugin's source as ESM) and its bundler give ssh2 the same thing.
 */
export const POLY1305_STAND_IN = `const standIn = () => Promise.resolve({
  _malloc: () => 0,
  cwrap: () => () => {
    throw new Error("chacha20-poly1305 was negotiated but its poly1305 is left out under Bun");
  },
});
export { standIn as "module.exports" };
`;

/** A plugin in the shape Bun's `Bun.build` and `Bun.plugin` take: the stand-in for ssh2's module. */
export const SSH2_POLY1305_PLUGIN = {
  name: "ssh2-poly1305-stand-in",
  setup(build: {
    onLoad(
      opts: { filter: RegExp },
      load: () => { contents: string; loader: "js" },
    ): unknown;
  }): void {
    build.onLoad({ filter: SSH2_POLY1305_PATH }, () => ({ contents: POLY1305_STAND_IN, loader: "js" }));
  },
};

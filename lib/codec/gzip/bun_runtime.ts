/**
 * What the gzip codec uses of Bun's global, where the runtime is Bun (the executables): libdeflate's
 * one-shot gzip and gunzip, and a forced collection. Undefined under Deno and Node, where callers
 * fall back to node:zlib and the runtime's own collector. lib/codec imports nothing outside itself,
 * so this is the codec's own accessor, not lib/runtime.ts.
 */

/** The members of Bun's global the codec calls; each may be missing from an older Bun. */
export interface BunCodecRuntime {
  gzipSync?(data: Uint8Array, opts: { level: number; library: "libdeflate" }): Uint8Array;
  gunzipSync?(data: Uint8Array, opts: { library: "libdeflate" }): Uint8Array;
  gc?(sync: boolean): void;
}

/** Bun's global, or undefined under another runtime. */
export const bunRuntime: BunCodecRuntime | undefined = (globalThis as { Bun?: BunCodecRuntime }).Bun;

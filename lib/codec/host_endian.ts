/**
 * The host's byte order. Word reads through an Int32Array use it, so they match a format's
 * little-endian (xxHash) or big-endian (a WAL's checksum words, by its magic) reads only where the
 * host's order is the same; elsewhere the readers fall back to byte-wise or DataView reads.
 */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

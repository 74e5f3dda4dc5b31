/**
 * GarbageBound (lib/runtime.ts): when a transfer forces a collection. The RSS and the collection are
 * stand-ins, so each decision is visible; the effect on a real transfer is a benchmark row
 * (`./dev bench --only sftp,backend`: peak RSS).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { GarbageBound } from "../lib/runtime.ts";

const MiB = 1024 * 1024;

/** A process whose RSS grows by what is moved and drops to `floor` on a collection. */
function fakeProcess(floor: number) {
  const state = { rss: floor, collections: [] as number[], reads: 0 };
  const probe = {
    rss: () => {
      state.reads++;
      return state.rss;
    },
    collect: () => {
      state.collections.push(state.rss);
      state.rss = floor;
    },
  };
  return { state, probe };
}

Deno.test("garbage bound: collects once the RSS is the headroom above the last collection, not before", () => {
  const { state, probe } = fakeProcess(70 * MiB);
  const bound = new GarbageBound(16 * MiB, probe);
  for (let i = 0; i < 64; i++) {
    state.rss += MiB;
    bound.moved(MiB);
  }
  // The first check sets the floor (71 MiB); each collection comes at floor + 16 MiB, and the RSS
  // read after it (70 MiB) is the next floor.
  assertEquals(state.collections.map((rss) => rss / MiB), [87, 86, 86]);
});

Deno.test("garbage bound: reads the RSS once per MiB moved, however small the pieces", () => {
  const { state, probe } = fakeProcess(70 * MiB);
  const bound = new GarbageBound(16 * MiB, probe);
  for (let i = 0; i < 4 * 32; i++) bound.moved(32 * 1024);
  assertEquals(state.reads, 4);
  assertEquals(state.collections, []);
});

Deno.test("garbage bound: an RSS that stays put never collects", () => {
  const { state, probe } = fakeProcess(70 * MiB);
  const bound = new GarbageBound(16 * MiB, probe);
  for (let i = 0; i < 1024; i++) bound.moved(MiB);
  assertEquals(state.collections, []);
});

Deno.test("garbage bound: without a forced collection (Deno, Node) it does not even read the RSS", () => {
  const { state, probe } = fakeProcess(70 * MiB);
  const bound = new GarbageBound(16 * MiB, { rss: probe.rss });
  for (let i = 0; i < 64; i++) {
    state.rss += MiB;
    bound.moved(MiB);
  }
  assertEquals(state.reads, 0);
});

Deno.test("garbage bound: where the RSS reads as 0 (no /proc), collects once per headroom of bytes moved", () => {
  const collections: number[] = [];
  let moved = 0;
  const bound = new GarbageBound(16 * MiB, { rss: () => 0, collect: () => collections.push(moved / MiB) });
  for (let i = 0; i < 64 * 4; i++) {
    moved += 256 * 1024;
    bound.moved(256 * 1024);
  }
  assertEquals(collections, [16, 32, 48, 64]);
});

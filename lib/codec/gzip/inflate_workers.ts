/**
 * Worker threads that inflate batches of complete, small gzip members (members whose length the
 * stream told, member_length.ts), so that the members of one archive inflate on every core at once.
 * Each member is inflated whole: by libdeflate where the runtime carries it (Bun, so the executables:
 * 600 against zlib's 450 MiB/s per core on the benchmark database, and `backup verify` of 1 GiB 5.1 →
 * 4.5 s), else by zlib. A member must inflate to exactly the size its trailer states. zlib is also
 * stopped from producing more than that; libdeflate cannot be, so what one member can make it allocate
 * is bounded by the member's size (see MAX_MEMBER in gunzip_members.ts).
 */
import { gunzipSync } from "node:zlib";
import { inlineWorker } from "../inline_worker.ts";
import { bunRuntime } from "./bun_runtime.ts";

const WORKER_SOURCE = `
import { gunzipSync } from "node:zlib";
const libdeflate = typeof Bun !== "undefined" && typeof Bun.gunzipSync === "function";
self.onmessage = (event) => {
  const { id, batch, spans, total } = event.data;
  try {
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < spans.length; i += 3) {
      const member = batch.subarray(spans[i], spans[i] + spans[i + 1]);
      const size = spans[i + 2];
      let z;
      try {
        z = libdeflate ? Bun.gunzipSync(member, { library: "libdeflate" }) : gunzipSync(member, { maxOutputLength: Math.max(1, size) });
      } catch (err) {
        throw new Error("a member of " + spans[i + 1] + " bytes: " + (err && err.message || err));
      }
      if (z.length !== size) throw new Error("a member inflates to " + z.length + " bytes, its trailer says " + size);
      out.set(z, at);
      at += z.length;
    }
    self.postMessage({ id, out, batch }, [out.buffer, batch.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err && err.message || err), batch }, [batch.buffer]);
  }
};
`;

/**
 * Inflates one whole member of `size` bytes (its trailer's ISIZE) on the calling thread: the worker's
 * code above, mirrored (a worker cannot import our modules). For readers that start no thread.
 */
export function inflateMember(member: Uint8Array, size: number): Uint8Array {
  let z: Uint8Array;
  try {
    z = bunRuntime?.gunzipSync
      ? bunRuntime.gunzipSync(member, { library: "libdeflate" })
      : gunzipSync(member, { maxOutputLength: Math.max(1, size) });
  } catch (err) {
    throw new Error(`a member of ${member.length} bytes: ${(err as Error)?.message ?? err}`);
  }
  if (z.length !== size) throw new Error(`a member inflates to ${z.length} bytes, its trailer says ${size}`);
  return z;
}

/** Members of one batch: `[offset, length, inflated size]` triples into the batch buffer. */
export type MemberSpans = number[];

interface Job {
  resolve: (r: { out: Uint8Array; batch: Uint8Array }) => void;
  reject: (e: Error) => void;
}

/** Inflates batches of members on `size` worker threads (none where workers cannot start). */
export class InflateWorkerPool {
  #workers: { worker: Worker; busy: number }[] = [];
  #jobs = new Map<number, Job>();
  #nextId = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = inlineWorker(WORKER_SOURCE);
      if (!worker) break;
      const slot = { worker, busy: 0 };
      worker.onmessage = (event: MessageEvent) => this.#settle(slot, event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        this.#failAll(new Error(`inflate worker failed: ${event.message}`));
      };
      this.#workers.push(slot);
    }
  }

  /** Worker threads running (0: the caller must inflate on its own thread). */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Inflates the members `spans` locates in `batch` into one buffer of `total` bytes. The batch is
   * transferred away and handed back with the result, for reuse.
   */
  inflate(
    batch: Uint8Array,
    spans: MemberSpans,
    total: number,
  ): Promise<{ out: Uint8Array; batch: Uint8Array }> {
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.#nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      slot.worker.postMessage({ id, batch, spans, total }, [batch.buffer as ArrayBuffer]);
    });
  }

  #settle(slot: { busy: number }, msg: { id: number; out?: Uint8Array; batch: Uint8Array; error?: string }) {
    slot.busy--;
    const job = this.#jobs.get(msg.id);
    this.#jobs.delete(msg.id);
    if (!job) return;
    if (msg.error !== undefined) job.reject(new Error(msg.error));
    else job.resolve({ out: msg.out!, batch: msg.batch });
  }

  #failAll(err: Error) {
    for (const job of this.#jobs.values()) job.reject(err);
    this.#jobs.clear();
  }

  /** Stops the workers (pending batches fail). */
  close(): void {
    for (const { worker } of this.#workers) worker.terminate();
    this.#workers = [];
    this.#failAll(new Error("inflate workers stopped"));
  }
}

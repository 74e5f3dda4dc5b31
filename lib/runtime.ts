/**
 * The only module that knows which JavaScript runtime it runs on (Deno from sources or
 * `deno compile`, Bun from `bun build --compile`). Everything else uses web standards and `node:`
 * built-ins, so the same sources run on both.
 */
import process from "node:process";
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { IoError } from "./errors.ts";

interface DenoLike {
  args: string[];
  version: { deno: string; v8: string; typescript: string };
}
interface BunLike {
  version: string;
  argv: string[];
}

const g = globalThis as { Deno?: DenoLike; Bun?: BunLike };

/** "deno" or "bun" (or "node" when neither global is present). */
export function runtimeName(): "deno" | "bun" | "node" {
  if (g.Bun) return "bun";
  if (g.Deno) return "deno";
  return "node";
}

/**
 * True where node:zlib's asynchronous calls run on a thread pool (Bun, Node); under Deno they run on
 * the calling thread, so overlapping zlib with other work there takes a worker.
 */
export function zlibAsyncRunsOffThread(): boolean {
  return !g.Deno;
}

/**
 * Registers a Bun run-time plugin (its `onLoad` hooks apply to modules loaded after this call); nothing
 * under Deno and Node. In a Bun executable the modules are already bundled, so the same plugin must also
 * be given to the build (scripts/bun_build.ts).
 */
export function useBunPlugin(plugin: { name: string; setup(build: never): void }): void {
  (g as { Bun?: { plugin?(p: unknown): void } }).Bun?.plugin?.(plugin);
}

/** Runtime name and version, e.g. `deno 2.9.6`. */
export function runtimeVersion(): string {
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** The user's command-line arguments, without runtime or script path, on every runtime. */
export function cliArgs(): string[] {
  // `deno run main.ts …` and a `deno compile` executable: Deno.args is exactly the user's arguments.
  if (g.Deno && !g.Bun) return [...g.Deno.args];
  // Bun executable: ["bun", "/$bunfs/root/<file>", …]; `bun main.ts …` and Node: [runtime, script, …].
  // A compiled Bun program passes runtime-looking flags (--inspect, -e, --) through untouched
  // (tests/compile/runtime_features_test.ts).
  return process.argv.slice(2);
}

/** One open lock file, runtime-neutral (lib/fsutil/file_lock.ts builds the locks on it). */
export interface LockHandle {
  tryLock(): boolean;
  ino(): number;
  writePid(text: string): void;
  close(): void;
}

interface DenoFile {
  tryLockSync(exclusive: boolean): boolean;
  statSync(): { ino: number | null };
  truncateSync(len: number): void;
  writeSync(b: Uint8Array): number;
  close(): void;
}
interface DenoFs {
  openSync(path: string, o: { read: boolean; write: boolean; create: boolean; mode: number }): DenoFile;
}

const LOCK_EX = 2;
const LOCK_NB = 4;
type FlockFn = (fd: number, op: number) => number;
let bunFlock: FlockFn | null = null;

/** libc's flock through bun:ffi (loaded once; the module name is not a literal so Deno never resolves it). */
async function loadBunFlock(): Promise<FlockFn> {
  if (bunFlock) return bunFlock;
  const name = "bun:ffi";
  const ffi = await import(name);
  const libc = ffi.dlopen("libc.so.6", { flock: { args: ["i32", "i32"], returns: "i32" } });
  bunFlock = (fd, op) => libc.symbols.flock(fd, op) as number;
  return bunFlock;
}

/**
 * Opens `path` (created 0600 unless `create` is false: then a missing one is ENOENT) for an advisory
 * `flock`: Node's `fs` has none, so this asks the runtime — Deno's `FsFile.tryLockSync`, or libc's `flock`
 * through `bun:ffi` on Bun. Both take the same kernel lock.
 */
export async function openLockHandle(path: string, create = true): Promise<LockHandle> {
  const deno = (globalThis as { Deno?: DenoFs }).Deno;
  if (runtimeName() === "deno" && deno) {
    const f = deno.openSync(path, { read: true, write: true, create, mode: 0o600 });
    return {
      tryLock: () => f.tryLockSync(true),
      ino: () => f.statSync().ino ?? -1,
      writePid: (text) => {
        f.truncateSync(0);
        f.writeSync(new TextEncoder().encode(text));
      },
      close: () => f.close(),
    };
  }
  if (runtimeName() !== "bun") throw new IoError(`${path}: advisory file locks need Deno or Bun`);
  const flock = await loadBunFlock();
  const fd = openSync(path, create ? "a+" : "r+", 0o600);
  return {
    tryLock: () => flock(fd, LOCK_EX | LOCK_NB) === 0,
    ino: () => fstatSync(fd).ino,
    writePid: (text) => {
      ftruncateSync(fd, 0);
      writeSync(fd, text, 0);
    },
    close: () => closeSync(fd),
  };
}

/** Writes an HTTP answer's body into the file at a path, resolving with the bytes written. */
export type BodyToFile = (path: string, res: Response) => Promise<number>;

/**
 * Where the runtime can write an answer's body into a file without handing its bytes to JavaScript
 * (Bun's `Bun.write`, which truncates the file it opens and keeps its inode and mode), the function that
 * does; undefined elsewhere (Deno). A 1 GiB S3 download read in JavaScript and written back peaked at
 * 64 MiB RSS under Bun, its garbage collected every 8 MiB; written natively, 38–40 MiB.
 */
export function bodyToFile(): BodyToFile | undefined {
  const bun =
    (g as { Bun?: { write?(to: unknown, from: Response): Promise<number>; file?(path: string): unknown } })
      .Bun;
  if (!bun?.write || !bun.file) return undefined;
  return (path, res) => bun.write!(bun.file!(path), res);
}

const MiB = 1024 * 1024;

/** What {@link GarbageBound} reads and calls; the runtime's own unless a test passes stand-ins. */
export interface GarbageProbe {
  /** The process's resident set size, in bytes. */
  rss(): number;
  /** A full, synchronous collection; undefined where the runtime offers none. */
  collect?: () => void;
}

/** The running runtime's RSS and forced collection (Bun's `gc`; none under Deno and Node). */
export function runtimeProbe(): GarbageProbe {
  const bun = (g as { Bun?: { gc?(sync: boolean): void } }).Bun;
  return { rss: () => process.memoryUsage.rss(), collect: bun?.gc ? () => bun.gc!(true) : undefined };
}

/**
 * Bounds the garbage of a long transfer where the collector cannot see it. Under Bun, buffers that
 * native code hands back (node:crypto's cipher output inside ssh2, socket reads, fetch bodies) do
 * not count towards the next collection, so they piled up for the whole transfer: a 256 MiB SFTP
 * upload peaked at 220–373 MiB RSS, the download at 266–338 MiB. Every MiB moved this reads the
 * RSS, and once it is `headroom` above where the previous collection left it, forces a full one:
 * 93–110 MiB then, for 10–25 % less throughput on loopback (freed pages come back as page faults),
 * still rclone's. 16 MiB and 24 MiB of headroom measured alike, 32 MiB let the download reach
 * 128 MiB. Where the RSS reads as 0 (no /proc, as in a bare chroot; Bun under qemu-user) it
 * collects once per `headroom` bytes moved instead. Elsewhere (Deno, Node) V8 counts such buffers
 * itself and this does nothing.
 */
export class GarbageBound {
  #sinceCheck = 0;
  #sinceCollection = 0;
  #floor = 0;

  constructor(private readonly headroom = 16 * MiB, private readonly probe = runtimeProbe()) {}

  /** Counts `bytes` moved; may collect. */
  moved(bytes: number): void {
    if (!this.probe.collect) return;
    this.#sinceCheck += bytes;
    if (this.#sinceCheck < MiB) return;
    this.#sinceCollection += this.#sinceCheck;
    this.#sinceCheck = 0;
    const rss = this.probe.rss();
    if (rss === 0) {
      if (this.#sinceCollection < this.headroom) return;
    } else {
      if (this.#floor === 0) this.#floor = rss;
      if (rss < this.#floor + this.headroom) return;
    }
    this.probe.collect();
    this.#sinceCollection = 0;
    this.#floor = this.probe.rss();
  }
}

/**
 * Draws the library's progress phases (lib/progress.ts) on stderr with npm `cli-progress`: on a
 * terminal (not a dumb one: program.ts) one line per phase, redrawn at most 10 times a second and
 * erased when the phase ends; with `--progress` plain lines instead (one when a phase starts, one
 * every 3 s, one when it ends), for `script` and CI logs where redraws would pile up. One phase is
 * drawn at a time: a phase started while another runs (an upload fed by the archive being written)
 * is counted by nobody.
 */
// @deno-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";
import {
  type ProgressPhase,
  type ProgressReporter,
  type ProgressUnit,
  setProgressReporter,
} from "../progress.ts";
import { formatProgress } from "./progress_format.ts";
import { setProgressHooks } from "./output.ts";

/** `live`: redrawn on a terminal; `plain`: a line every few seconds, never redrawn. */
export type ProgressMode = "live" | "plain";

/** Milliseconds between two plain lines. */
const PLAIN_EVERY_MS = 3000;
/** Milliseconds between two counter updates handed to cli-progress (it redraws at most every 100). */
const UPDATE_EVERY_MS = 50;
/** Advances between two looks at the clock (16 chunks of 64 KiB: every MiB). */
const CHECK_EVERY = 16;

let active: cliProgress.SingleBar | undefined;
/** Only a live line is erased: plain lines end in a newline, and may go to a terminal that cannot erase. */
let erasable = false;

/** Installs the reporter for `mode`. */
export function installProgress(mode: ProgressMode): void {
  erasable = mode === "live";
  setProgressReporter(new BarReporter(mode));
  setProgressHooks({ clear: clearProgressLine, stop: stopProgress });
}

/**
 * Erases the live line so that a warning or a -v line can be printed on a clean line; the bar draws
 * itself again at its next change. Nothing to do in plain mode (lines end in a newline).
 */
function clearProgressLine(): void {
  if (active && erasable && process.stderr.isTTY) process.stderr.write("\r\x1b[K");
}

/** Stops the phase on screen, if any (a failure left it open): its line is erased before the error. */
function stopProgress(): void {
  active?.stop();
  active = undefined;
}

class BarReporter implements ProgressReporter {
  constructor(private readonly mode: ProgressMode) {}

  phase(label: string, total: number | undefined, unit: ProgressUnit): ProgressPhase {
    if (active) return { advance() {}, end() {} };
    const live = this.mode === "live";
    let value = 0;
    const bar = new cliProgress.SingleBar({
      // plain mode goes through a stream that says it is no terminal: cli-progress then prints lines
      stream: live ? liveStream() : plainStream(),
      fps: 10,
      noTTYOutput: !live,
      notTTYSchedule: PLAIN_EVERY_MS,
      clearOnComplete: true,
      linewrap: true,
      format: (_opts, params) =>
        formatProgress(
          { label, unit, value, total, elapsedMs: Date.now() - params.startTime },
          Math.max(20, (params.maxWidth ?? 80) - 1),
        ),
    });
    bar.start(total ?? 0, 0);
    active = bar;
    // cli-progress does real work per update (ETA buffer, a clock read, a redraw check, events): hand
    // it the counter at most every UPDATE_EVERY_MS, and read our clock only every CHECK_EVERY advances.
    let handedAt = 0;
    let calls = 0;
    return {
      advance(n) {
        value += n;
        if (++calls % CHECK_EVERY !== 0) return;
        const now = Date.now();
        if (now - handedAt < UPDATE_EVERY_MS) return;
        handedAt = now;
        bar.update(value);
      },
      end() {
        bar.update(value);
        bar.stop();
        if (active === bar) active = undefined;
      },
    };
  }
}

/**
 * stderr without cursor save/restore (ESC 7 / ESC 8): the line never leaves its row, and a warning
 * printed while it is drawn moves the row down, so restoring a saved position would jump back up and
 * erase the warning.
 */
function liveStream(): NodeJS.WritableStream {
  return {
    isTTY: true,
    get columns() {
      return process.stderr.columns;
    },
    write: (s: string) => (s === "\x1b7" || s === "\x1b8") || process.stderr.write(s),
  } as unknown as NodeJS.WritableStream;
}

/** stderr seen as no terminal: the shape of the stream cli-progress reads (write, isTTY, columns). */
function plainStream(): NodeJS.WritableStream {
  return {
    isTTY: false,
    write: (s: string) => process.stderr.write(s),
  } as unknown as NodeJS.WritableStream;
}

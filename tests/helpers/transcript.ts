/**
 * Transcripts of CLI runs for the secret-leak check. When VIGO_TRANSCRIPT_DIR is set (scripts/test.ts
 * sets one per phase), every run of the CLI made through tests/helpers/cli.ts or a background process
 * of tests/helpers/litestream.ts leaves one JSON file there: its argv, stdout and stderr (which carry
 * the `--json` output, the log lines and whatever a hook command printed).
 */
import { join } from "node:path";

/** The environment variable naming the transcript directory. */
export const TRANSCRIPT_ENV = "VIGO_TRANSCRIPT_DIR";

/** One recorded run. */
export interface TranscriptRun {
  argv: string[];
  stdout: string;
  stderr: string;
  /** Exit code, when the run was waited for. */
  code?: number;
  /** The test process that recorded it (a hint for finding the test). */
  recorder: string;
}

let seq = 0;

/** Records one run when VIGO_TRANSCRIPT_DIR is set; never fails the test that made the run. */
export function recordRun(run: Omit<TranscriptRun, "recorder">): void {
  const dir = Deno.env.get(TRANSCRIPT_ENV);
  if (!dir) return;
  const recorder = Deno.mainModule;
  try {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(join(dir, `${Deno.pid}-${++seq}.json`), JSON.stringify({ ...run, recorder }));
  } catch (err) {
    console.error(`transcript: cannot record a run in ${dir}: ${err}`);
  }
}

/** Every run recorded in `dir`, in file-name order. */
export function readTranscripts(dir: string): (TranscriptRun & { file: string })[] {
  const out: (TranscriptRun & { file: string })[] = [];
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    out.push({ ...JSON.parse(Deno.readTextFileSync(join(dir, e.name))), file: e.name });
  }
  return out;
}

/**
 * The secret-leak check: no registered test secret (tests/helpers/test_secrets.ts) may appear in any
 * recorded CLI output (tests/helpers/transcript.ts) — raw, JSON-escaped, URL-encoded, base64 or hex.
 * Two outputs print a secret by design and are exempt, their stdout only: `secret get NAME` and
 * `--with-secrets` (the Litestream config for an operator who asked for the keys inline).
 */
import { readTranscripts, type TranscriptRun } from "./transcript.ts";
import { TEST_SECRETS, type TestSecret } from "./test_secrets.ts";

/** One secret found where it must not be. */
export interface Leak {
  /** The transcript file. */
  file: string;
  /** The command line, with every secret masked. */
  command: string;
  stream: "stdout" | "stderr";
  /** The registered name of the secret (never its value). */
  secret: string;
  /** How it was written: raw, json, url, base64 or hex. */
  encoding: string;
}

function encodings(value: string): [string, string][] {
  const bytes = new TextEncoder().encode(value);
  return [
    ["raw", value],
    ["json", JSON.stringify(value).slice(1, -1)],
    ["url", encodeURIComponent(value)],
    ["base64", btoa(String.fromCharCode(...bytes)).replace(/=+$/, "")],
    ["hex", Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")],
  ];
}

/** True when the run's stdout is meant to carry a secret (see the module comment). */
function printsSecretsByDesign(argv: string[]): boolean {
  const i = argv.indexOf("secret");
  return (i >= 0 && argv[i + 1] === "get") || argv.includes("--with-secrets");
}

/** Every occurrence of a secret in `runs` outside the exempt outputs. */
export function findLeaks(
  runs: (TranscriptRun & { file: string })[],
  secrets: readonly TestSecret[] = TEST_SECRETS,
): Leak[] {
  const leaks: Leak[] = [];
  const mask = (s: string) => secrets.reduce((t, x) => t.split(x.value).join(`<${x.name}>`), s);
  for (const run of runs) {
    for (const stream of ["stdout", "stderr"] as const) {
      if (stream === "stdout" && printsSecretsByDesign(run.argv)) continue;
      const text = run[stream];
      for (const s of secrets) {
        const hit = encodings(s.value).find(([, enc]) => enc.length >= 8 && text.includes(enc));
        if (hit) {
          leaks.push({
            file: run.file,
            command: mask(run.argv.join(" ")),
            stream,
            secret: s.name,
            encoding: hit[0],
          });
        }
      }
    }
  }
  return leaks;
}

/** Checks every transcript in `dir`; returns the runs checked and the leaks found. */
export function checkTranscriptDir(
  dir: string,
  secrets: readonly TestSecret[] = TEST_SECRETS,
): { runs: number; leaks: Leak[] } {
  const runs = readTranscripts(dir);
  return { runs: runs.length, leaks: findLeaks(runs, secrets) };
}

/** One line per leak, for a test failure or the suite summary. */
export function describeLeak(l: Leak): string {
  return `${l.secret} (${l.encoding}) in the ${l.stream} of \`${l.command}\` [${l.file}]`;
}

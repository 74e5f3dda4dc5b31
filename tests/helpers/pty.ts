/**
 * Runs the CLI on a real pseudo-terminal with util-linux `script -qec CMD /dev/null` (stdout and
 * stderr both go to the terminal, so the program sees `isTTY`), and replays what it wrote through a
 * minimal terminal model to get the lines a person would be left looking at.
 */
import { cliCommand, defaultCliTimeoutMs } from "./cli.ts";

/** Result of one run on a pty: the raw bytes written to the terminal, and the exit code. */
export interface PtyResult {
  code: number;
  raw: string;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `vigocli ARGS…` on a pty. */
export async function runCliInPty(args: string[], env: Record<string, string> = {}): Promise<PtyResult> {
  const line = [...cliCommand(), ...args].map(shellQuote).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", line, "/dev/null"],
    // A terminal that can redraw unless a test says otherwise (a dumb one gets no live line).
    env: { AWS_EC2_METADATA_DISABLED: "true", SHELL: "/bin/sh", COLUMNS: "120", TERM: "xterm", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), defaultCliTimeoutMs());
  try {
    const out = await child.output();
    return { code: out.code, raw: new TextDecoder().decode(out.stdout) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The screen after `raw`: CR and LF, ESC 7 / ESC 8 (save/restore the cursor: row and column), CSI n G (to column n),
 * CSI K / 0K / 2K (erase). Any other escape sequence is dropped. Lines are returned without trailing
 * blanks; a progress line left behind (not erased, not ended) shows up here.
 */
export function screenLines(raw: string): string[] {
  const lines: string[][] = [[]];
  let row = 0, col = 0, saved = [0, 0];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "\r") col = 0;
    else if (c === "\n") {
      row++;
      col = 0;
      lines[row] ??= [];
    } else if (c === "\x1b") {
      if (raw[i + 1] === "7") (saved = [row, col], i++);
      else if (raw[i + 1] === "8") ([row, col] = saved, i++);
      else if (raw[i + 1] === "[") {
        const m = /^\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i + 1));
        if (!m) continue;
        i += m[0].length;
        const n = Number(m[1] || "0");
        if (m[2] === "G") col = Math.max(0, (Number(m[1]) || 1) - 1);
        else if (m[2] === "K" && n === 2) lines[row] = [];
        else if (m[2] === "K") lines[row].length = Math.min(lines[row].length, col);
      }
    } else {
      const line = lines[row];
      while (line.length < col) line.push(" ");
      line[col++] = c;
    }
  }
  return lines.map((l) => l.join("").trimEnd()).filter((l, i, all) => l !== "" || i < all.length - 1);
}

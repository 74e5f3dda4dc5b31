/**
 * Go-style durations ("720h", "1s", "1h30m", "250ms", "1.5h"), the syntax of Go's
 * `time.ParseDuration`, because server.yaml and Litestream's configuration both use it and operators
 * copy values between the two.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3, // U+00B5 micro sign
  "μs": 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Raised by {@link parseDuration}; the caller adds the file and key to the message. */
export class DurationSyntaxError extends Error {
  constructor(text: string, why: string) {
    super(`invalid duration ${JSON.stringify(text)}: ${why}`);
    this.name = "DurationSyntaxError";
  }
}

/**
 * Parses a Go duration into milliseconds (fractional for sub-millisecond units). Accepts an optional
 * sign, then one or more `<decimal><unit>` terms; the bare string "0" is allowed as in Go.
 * Throws {@link DurationSyntaxError} for anything else (empty string, missing or unknown unit).
 */
export function parseDuration(text: string): number {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new DurationSyntaxError(text, "empty");
  let total = 0;
  const term = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;
  while (s !== "") {
    const m = term.exec(s);
    if (!m) throw new DurationSyntaxError(text, "expected a number followed by a unit (ns, us, ms, s, m, h)");
    const [whole, intPart, fracPart = "", unit] = m;
    if (intPart === "" && fracPart === "") {
      throw new DurationSyntaxError(text, "expected a number before the unit");
    }
    const factor = UNIT_MS[unit];
    if (factor === undefined) {
      throw new DurationSyntaxError(text, `unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m, h)`);
    }
    total += Number(`${intPart || "0"}.${fracPart || "0"}`) * factor;
    s = s.slice(whole.length);
  }
  if (!Number.isFinite(total)) throw new DurationSyntaxError(text, "out of range");
  return sign * total;
}

/**
 * Formats milliseconds the way Go's `Duration.String()` does for whole and fractional seconds
 * ("720h0m0s", "1s", "1.5s", "250ms"), so a generated Litestream configuration reads naturally.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1_000) {
    out = rest >= 1 ? `${trimNumber(rest)}ms` : `${trimNumber(rest * 1_000)}µs`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const secs = `${trimNumber(rest / 1_000)}s`;
    out = h > 0 ? `${h}h${m}m${secs}` : m > 0 ? `${m}m${secs}` : secs;
  }
  return neg ? `-${out}` : out;
}

function trimNumber(n: number): string {
  // Nine decimals is nanosecond precision; more is float noise.
  return String(Number(n.toFixed(9)));
}

/**
 * Splits a stream of SQL text into complete statements without parsing SQL, the way SQLite's
 * `sqlite3_complete()` decides completeness: a `;` ends a statement unless it is inside a string,
 * identifier or comment, or inside the body of a `CREATE [TEMP] TRIGGER ... BEGIN ... END`. Text may
 * arrive in arbitrary pieces (a literal can span pieces); complete statements are handed out in order.
 */

// token classes
const SEMI = 0;
const WS = 1;
const OTHER = 2;
const EXPLAIN = 3;
const CREATE = 4;
const TEMP = 5;
const TRIGGER = 6;
const END = 7;

// Completeness automaton (states 0..7; state 1 after a token = a complete statement ends here).
// Rows: state; columns: token class. Derived from how sqlite3_complete() treats trigger bodies.
const NEXT: number[][] = [
  /* 0 start   */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* 1 done    */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* 2 normal  */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* 3 explain */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* 4 create  */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* 5 trigger */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* 6 semi    */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* 7 end     */ [1, 7, 5, 5, 5, 5, 5, 5],
];

const KEYWORDS: Record<string, number> = {
  EXPLAIN,
  CREATE,
  TEMP,
  TEMPORARY: TEMP,
  TRIGGER,
  END,
};

const WORD = /[A-Za-z0-9_$\u0080-\uffff]*/y;

const enum Mode {
  Normal,
  Quote,
  LineComment,
  BlockComment,
  Word,
}

/** Incremental statement splitter. */
export class SqlStatementSplitter {
  private pending = "";
  private scanned = 0;
  private state = 0;
  private mode = Mode.Normal;
  private closeQuote = "";
  private word = "";

  /** Adds text; returns each statement it completed (none, one or several), in order. */
  push(text: string): string[] {
    this.pending += text;
    const cuts: number[] = [];
    const s = this.pending;
    let i = this.scanned;
    while (i < s.length) {
      const c = s[i];
      if (this.mode === Mode.Quote) {
        // literals are most of a dump's bytes: jump over them
        const close = s.indexOf(this.closeQuote, i);
        if (close < 0) {
          i = s.length;
          break;
        }
        this.mode = Mode.Normal;
        this.step(OTHER);
        i = close + 1;
        continue;
      }
      if (this.mode === Mode.LineComment) {
        const nl = s.indexOf("\n", i);
        i = nl < 0 ? s.length : nl + 1;
        if (nl >= 0) this.mode = Mode.Normal;
        continue;
      }
      if (this.mode === Mode.BlockComment) {
        const close = s.indexOf("*/", i);
        i = close < 0 ? Math.max(i, s.length - 1) : close + 2;
        if (close >= 0) this.mode = Mode.Normal;
        if (close < 0) break;
        continue;
      }
      if (this.mode === Mode.Word || isWordChar(c)) {
        WORD.lastIndex = i;
        WORD.test(s);
        const end = WORD.lastIndex;
        this.word = this.mode === Mode.Word ? this.word + s.slice(i, end) : s.slice(i, end);
        i = end;
        if (end === s.length) {
          this.mode = Mode.Word;
          break;
        }
        this.mode = Mode.Normal;
        this.step(this.word.length <= 9 ? KEYWORDS[this.word.toUpperCase()] ?? OTHER : OTHER);
        continue;
      }
      if ((c === "-" || c === "/") && i + 1 === s.length) break; // may start a comment: wait for more
      if (c === ";") {
        this.step(SEMI);
        if (this.state === 1) cuts.push(i + 1);
      } else if (c === " " || c === "\n" || c === "\t" || c === "\r" || c === "\f") {
        this.step(WS);
      } else if (c === "'" || c === '"' || c === "`") {
        this.mode = Mode.Quote;
        this.closeQuote = c;
      } else if (c === "[") {
        this.mode = Mode.Quote;
        this.closeQuote = "]";
      } else if (c === "-" && s[i + 1] === "-") {
        this.mode = Mode.LineComment;
      } else if (c === "/" && s[i + 1] === "*") {
        this.mode = Mode.BlockComment;
        i++;
      } else {
        this.step(OTHER);
      }
      i++;
    }
    this.scanned = i;
    return this.cutAt(cuts);
  }

  /** Text after the last complete statement (whitespace and comments only, for a complete dump). */
  rest(): string {
    return this.pending;
  }

  private step(token: number): void {
    this.state = NEXT[this.state][token];
  }

  private cutAt(cuts: number[]): string[] {
    if (cuts.length === 0) return [];
    const done = cuts.map((end, k) => this.pending.slice(k === 0 ? 0 : cuts[k - 1], end));
    const last = cuts[cuts.length - 1];
    this.pending = this.pending.slice(last);
    this.scanned -= last;
    return done;
  }
}

function isWordChar(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "_" ||
    c === "$" || c > "\x7f";
}

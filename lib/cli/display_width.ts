/**
 * How many terminal columns a string takes, as terminals draw it (wcwidth(3)): East Asian Wide and
 * Fullwidth characters and emoji drawn as emoji take two, combining marks and other zero-width code
 * points none, everything else one. string.length counts UTF-16 units instead, so a line of CJK text
 * cut to `columns` units is up to twice as wide as the terminal: it wraps and leaves rows behind.
 */

/**
 * The East Asian Wide (W) and Fullwidth (F) ranges of Unicode 15.1's EastAsianWidth.txt, sorted, merged
 * across unassigned and a few ambiguous code points: counting one of those as two costs a column, while
 * counting a wide character as one overflows the line. Emoji are matched apart.
 */
const WIDE: readonly [number, number][] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2329, 0x232a], // angle brackets
  [0x2e80, 0x303e], // CJK radicals, Kangxi radicals, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK strokes, …
  [0x3400, 0x4dbf], // CJK Unified Ideographs Extension A
  [0x4e00, 0xa4cf], // CJK Unified Ideographs, Yi
  [0xa960, 0xa97f], // Hangul Jamo Extended-A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK Compatibility Ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth ASCII variants
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16ff1], // ideographic symbols and punctuation
  [0x17000, 0x18d08], // Tangut, Khitan
  [0x1aff0, 0x1b2ff], // Kana supplement and extensions, Nushu
  [0x1d300, 0x1d376], // Tai Xuan Jing symbols, counting rod numerals
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x3fffd], // CJK Unified Ideographs Extensions B–H and the rest of planes 2 and 3
];

/** Emoji drawn as emoji by default (two columns), e.g. U+1F600; text-style symbols such as U+2764 are not. */
const EMOJI = /^\p{Emoji_Presentation}$/u;

/**
 * Code points that take no column: combining marks (accents, variation selectors), format characters
 * (zero-width joiner and spaces, bidi marks), Hangul medial vowels and final consonants, which join the
 * syllable before them, and control characters, which draw nothing.
 */
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}\u1160-\u11ff]$/u;

function isWide(cp: number): boolean {
  for (const [lo, hi] of WIDE) {
    if (cp < lo) return false;
    if (cp <= hi) return true;
  }
  return false;
}

/** Columns one code point takes: 0, 1 or 2. */
function codePointWidth(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x7f) return cp < 0x20 ? 0 : 1;
  // A format character, but terminals draw the soft hyphen as a hyphen.
  if (cp === 0xad) return 1;
  if (ZERO.test(ch)) return 0;
  return isWide(cp) || EMOJI.test(ch) ? 2 : 1;
}

/** Columns `s` takes on a terminal. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += codePointWidth(ch);
  return w;
}

/**
 * The longest end of `s` that fits in `columns`, never starting with a zero-width code point (a
 * combining mark without the character it belongs to).
 */
export function endOfWidth(s: string, columns: number): string {
  const chars = [...s];
  let start = chars.length;
  let w = 0;
  while (start > 0 && w + codePointWidth(chars[start - 1]) <= columns) {
    w += codePointWidth(chars[--start]);
  }
  while (start < chars.length && codePointWidth(chars[start]) === 0) start++;
  return chars.slice(start).join("");
}

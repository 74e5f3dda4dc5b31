/**
 * Typed, located access to one mapping of a parsed YAML document. Every accessor either returns a
 * value of the expected type or throws a {@link ConfigError} whose message carries the file, the
 * dotted key path and the source line, e.g.
 * `server.yaml: backup.force_path_style: expected a boolean, got "yes" (line 7)`.
 */
import { type Document, isAlias, isMap, isScalar, type LineCounter, type Node, type YAMLMap } from "yaml";
import { ConfigError } from "../errors.ts";
import { DurationSyntaxError, parseDuration } from "./duration.ts";

/** Where a mapping lives: the file shown in messages and how to turn offsets into lines. */
export interface YamlSource {
  /** The file name as the user gave it, used as the message prefix. */
  displayPath: string;
  doc: Document;
  lineCounter: LineCounter;
}

/** A mapping at a dotted key path (empty for the document root). */
export class YamlSection {
  readonly #src: YamlSource;
  readonly #map: YAMLMap | null;
  readonly path: string;

  constructor(src: YamlSource, map: YAMLMap | null, path: string) {
    this.#src = src;
    this.#map = map;
    this.path = path;
  }

  /** Keys present in this mapping, in source order, with their lines. */
  keys(): { key: string; line?: number }[] {
    if (!this.#map) return [];
    return this.#map.items.map((pair) => {
      const k = pair.key as Node | null;
      const key = isScalar(k) ? String(k.value) : String(k);
      return { key, line: this.#lineOf(k) };
    });
  }

  /** True when the key is present with a non-null value. */
  has(key: string): boolean {
    return this.#value(key) !== null;
  }

  /** The dotted path of `key` in this section, e.g. `backup.url`. */
  keyPath(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** Source line of `key`'s value (or of the key when the value is empty), 1-based. */
  lineOf(key: string): number | undefined {
    const pair = this.#pair(key);
    if (!pair) return undefined;
    return this.#lineOf(pair.value as Node | null) ?? this.#lineOf(pair.key as Node | null);
  }

  /** A nested mapping; absent or null gives an empty section, anything else is an error. */
  section(key: string): YamlSection {
    const node = this.#value(key);
    if (node === null) return new YamlSection(this.#src, null, this.keyPath(key));
    if (!isMap(node)) throw this.typeError(key, "a mapping", node);
    return new YamlSection(this.#src, node, this.keyPath(key));
  }

  /** A string value, or `undefined` when absent or null. Numbers and booleans are refused. */
  string(key: string): string | undefined {
    const node = this.#value(key);
    if (node === null) return undefined;
    if (!isScalar(node) || typeof node.value !== "string") throw this.typeError(key, "a string", node);
    return node.value;
  }

  /** A boolean value (YAML `true`/`false`), or `undefined` when absent or null. */
  boolean(key: string): boolean | undefined {
    const node = this.#value(key);
    if (node === null) return undefined;
    if (!isScalar(node) || typeof node.value !== "boolean") throw this.typeError(key, "a boolean", node);
    return node.value;
  }

  /** A Go-style duration string converted to milliseconds, or `undefined` when absent or null. */
  duration(key: string): number | undefined {
    const node = this.#value(key);
    if (node === null) return undefined;
    if (!isScalar(node) || typeof node.value !== "string") {
      throw this.typeError(key, 'a duration string such as "720h" or "1s"', node);
    }
    try {
      return parseDuration(node.value);
    } catch (err) {
      if (err instanceof DurationSyntaxError) throw this.error(key, err.message);
      throw err;
    }
  }

  /** A {@link ConfigError} about `key` with its line appended. */
  error(key: string, problem: string): ConfigError {
    return new ConfigError(
      `${this.#src.displayPath}: ${this.keyPath(key)}: ${problem}${lineSuffix(this.lineOf(key))}`,
    );
  }

  /** "expected X, got Y" for `key`. */
  typeError(key: string, expected: string, node: Node | null | undefined): ConfigError {
    return this.error(key, `expected ${expected}, got ${describe(node)}`);
  }

  #pair(key: string) {
    return this.#map?.items.find((p) => {
      const k = p.key as Node | null;
      return (isScalar(k) ? String(k.value) : String(k)) === key;
    });
  }

  /** The value node of `key`, or null when absent or YAML null. */
  #value(key: string): Node | null {
    let value = (this.#pair(key)?.value ?? null) as Node | null;
    // An alias (`*name`) stands for the anchored node; validate what it points at.
    if (isAlias(value)) value = (value.resolve(this.#src.doc) ?? null) as Node | null;
    if (isScalar(value) && value.value === null) return null;
    return value;
  }

  #lineOf(node: Node | null): number | undefined {
    const start = node?.range?.[0];
    return start === undefined ? undefined : this.#src.lineCounter.linePos(start).line;
  }
}

/** ` (line N)` or nothing when the line is unknown. */
export function lineSuffix(line: number | undefined): string {
  return line === undefined ? "" : ` (line ${line})`;
}

function describe(node: Node | null | undefined): string {
  if (node === undefined || node === null) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return "null";
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "number" || typeof v === "boolean") return `${typeof v} ${String(v)}`;
  }
  return "a list";
}

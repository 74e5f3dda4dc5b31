/**
 * `exclude` patterns of the backup executor. A pattern containing `/` matches the path relative to
 * `source_dir` (a leading `/` anchors a one-component pattern there); one without `/` matches any single
 * path component, so `*.log`
 * excludes log files at any depth and `cache` excludes every directory or file named cache. `*` and `?`
 * stay within one component, `**` spans components, `[...]` is a character class. An excluded
 * directory is skipped with everything under it.
 */

/** A compiled set of exclude patterns. */
export interface ExcludeMatcher {
  /** The patterns as written. */
  readonly patterns: string[];
  /** True when the entry at `relPath` (POSIX, relative to source_dir) is excluded. */
  excludes(relPath: string): boolean;
}

/** Splits the crate's comma-separated `exclude` value and compiles it. */
export function compileExcludes(value: string | string[] | undefined): ExcludeMatcher {
  const patterns = (Array.isArray(value) ? value : (value ?? "").split(","))
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const full: RegExp[] = [];
  const component: RegExp[] = [];
  for (const p of patterns) {
    const body = p.replace(/^\/+/, "").replace(/\/+$/, "");
    if (p.startsWith("/") || body.includes("/")) full.push(globToRegExp(body));
    else component.push(globToRegExp(body));
  }
  return {
    patterns,
    excludes(relPath: string): boolean {
      if (full.some((r) => r.test(relPath))) return true;
      const name = relPath.slice(relPath.lastIndexOf("/") + 1);
      return component.some((r) => r.test(name));
    },
  };
}

/** Translates one glob to an anchored regular expression. */
function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // "**/" also matches zero directories
        if (glob[i + 2] === "/") {
          re += "(?:.*/)?";
          i += 2;
        } else {
          re += ".*";
          i += 1;
        }
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
      } else {
        let cls = glob.slice(i + 1, close).replaceAll("\\", "\\\\");
        if (cls.startsWith("!")) cls = "^" + cls.slice(1);
        re += `[${cls}]`;
        i = close;
      }
    } else {
      re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * `{{ name }}` substitution in crate parameter values, as in the `vigo-server-backup` crate's
 * `retain: "{{ backup_retain }}"`. Values come from the crate's `vars:` section and `--var` overrides.
 * Substitution works on parsed YAML strings, so a value can never change the structure of the file.
 */

const REF = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Replaces every `{{ name }}` in `value`; calls `fail` with a message for an unknown var. */
export function substituteVars(
  value: string,
  vars: Record<string, string>,
  fail: (msg: string) => never,
): string {
  return value.replace(REF, (_m, name: string) => {
    if (!Object.hasOwn(vars, name)) fail(`unknown var "${name}"`);
    return vars[name];
  });
}

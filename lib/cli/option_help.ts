/**
 * What `--help` says after an option's description: its choices, default and environment variable, as
 * commander says them, but no default for a repeatable option, whose empty starting list or map
 * (`[]`, `{}`) is how it collects and means "none" to an operator.
 */
import type { Option } from "@commander-js/extra-typings";

/** Whether `value` is an empty list or map: a repeatable option's starting value. */
function isEmptyCollection(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}

/**
 * `option`'s description with whether it is `required`, its choices, default and environment variable;
 * for `configureHelp`.
 */
export function optionDescription(option: Option, required = false): string {
  const extra: string[] = required ? ["required"] : [];
  if (option.argChoices) extra.push(`choices: ${option.argChoices.map((c) => JSON.stringify(c)).join(", ")}`);
  const takesValue = option.required || option.optional;
  // A description without a value is a default the action works out itself (replicate's --log-level).
  const shownDefault = option.defaultValue === undefined
    ? option.defaultValueDescription !== undefined
    : !isEmptyCollection(option.defaultValue) && (takesValue || typeof option.defaultValue === "boolean");
  if (shownDefault) {
    extra.push(`default: ${option.defaultValueDescription || JSON.stringify(option.defaultValue)}`);
  }
  if (option.presetArg !== undefined && option.optional) {
    extra.push(`preset: ${JSON.stringify(option.presetArg)}`);
  }
  if (option.envVar !== undefined) extra.push(`env: ${option.envVar}`);
  if (extra.length === 0) return option.description;
  return [option.description, `(${extra.join(", ")})`].filter(Boolean).join(" ");
}

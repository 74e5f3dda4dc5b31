/**
 * The advice for a missing `secrets/.master.key`, worded once for every message that gives it (a
 * restore without the key, `secret get`, a `secret:` value in server.yaml, `secret set`). It never
 * says to make a new key: a new key cannot open the secrets sealed with the old one, which on a
 * restored host are all of them.
 */

/** "put the old host's master key back (…)", naming where it goes: `keyPath`. */
export function putMasterKeyBack(keyPath: string): string {
  return `put the old host's master key back (backup restore --master-key FILE, or copy it to ${keyPath}, mode 0600)`;
}

/**
 * What the listings of a backend that sees dead runs' temporary files (file://, sftp://; stale_temps.ts)
 * did with them: removed them or, once told to spare them (`Backend.spareTemps`: a dry run, a command
 * that only looks), left them. Either way their keys are kept for `Backend.removedTemps`.
 */
export class ListingTemps {
  #keys = new Set<string>();
  #spared = false;

  /** Whether listings leave them in place. */
  get spared(): boolean {
    return this.#spared;
  }

  spare(): void {
    this.#spared = true;
  }

  /** Records `name`, in the directory `dirKey` (`""` for the root), as removed or as one to remove. */
  record(dirKey: string, name: string): void {
    this.#keys.add(dirKey === "" ? name : `${dirKey}/${name}`);
  }

  keys(): readonly string[] {
    return [...this.#keys];
  }
}

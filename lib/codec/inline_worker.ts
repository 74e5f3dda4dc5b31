/**
 * Starts a web Worker from module source text held in a string, so neither `deno compile` nor
 * `bun build --compile` needs a separate worker file. Every worker of the project is made here.
 */

/**
 * A module worker running `source`, or undefined where workers are unavailable or refuse to start
 * (callers then do the work on their own thread). The source's blob URL is revoked when the worker
 * is terminated, not before: Bun resolves a blob worker's imports after the constructor has returned,
 * and an early revoke fails them ("Blob URL is missing").
 */
export function inlineWorker(source: string): Worker | undefined {
  if (typeof Worker === "undefined") return undefined;
  let url: string | undefined;
  try {
    url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const worker = new Worker(url, { type: "module" });
    const blobUrl = url;
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      terminate();
      URL.revokeObjectURL(blobUrl);
    };
    return worker;
  } catch {
    if (url) URL.revokeObjectURL(url);
    return undefined;
  }
}

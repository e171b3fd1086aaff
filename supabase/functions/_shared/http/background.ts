// Work that continues after the response: EdgeRuntime.waitUntil keeps the instance alive until
// the promise settles (hosted and on the local stack). Failures are logged, never unhandled.
interface EdgeRuntimeLike {
  waitUntil(promise: Promise<unknown>): void;
}

export function runInBackground(label: string, work: () => Promise<unknown>): void {
  const promise = work().catch((error) => {
    console.error(
      `[${label}] background work failed:`,
      error instanceof Error ? error.message : error,
    );
  });
  const runtime = (globalThis as { EdgeRuntime?: EdgeRuntimeLike }).EdgeRuntime;
  runtime?.waitUntil(promise);
}

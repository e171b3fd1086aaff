// Runs one Edge Function the way the hosted Edge Runtime does, in its own Deno 2.1 process:
// the function's `Deno.serve(...)` is bound to the port the supervisor picked, and
// `EdgeRuntime.waitUntil(promise)` keeps background work alive; on SIGTERM the worker stops
// taking requests, fires `beforeunload`, and waits for that background work before exiting.
//
//   deno run -A stack/function_worker.ts <entrypoint> <port>
import { pathToFileURL } from "node:url";

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

const [entrypoint, portArg] = Deno.args;
if (!entrypoint || !portArg) {
  console.error("usage: function_worker.ts <entrypoint> <port>");
  Deno.exit(2);
}
const port = Number(portArg);
// Hosted functions get at most 150 s of wall clock after the response (free plan).
const BACKGROUND_GRACE_MS = Number(Deno.env.get("EDGE_RUNTIME_BACKGROUND_GRACE_MS") ?? 150_000);

const backgroundWork = new Set<Promise<unknown>>();
(globalThis as unknown as { EdgeRuntime: unknown }).EdgeRuntime = {
  waitUntil(promise: Promise<unknown>) {
    const tracked = Promise.resolve(promise).catch((error) => {
      console.error("[EdgeRuntime.waitUntil] background task failed:", error);
    }).finally(() => backgroundWork.delete(tracked));
    backgroundWork.add(tracked);
    return promise;
  },
};

let server: Deno.HttpServer | undefined;
const realServe = Deno.serve.bind(Deno);

// The function decides what to serve; the runtime decides where.
function serveOnWorkerPort(...args: unknown[]): Deno.HttpServer {
  if (server) throw new Error("Deno.serve was called twice in one function");
  let handler: Handler | undefined;
  let options: Record<string, unknown> = {};
  for (const arg of args) {
    if (typeof arg === "function") handler = arg as Handler;
    else if (arg && typeof arg === "object") options = arg as Record<string, unknown>;
  }
  handler ??= options.handler as Handler | undefined;
  if (!handler) throw new Error("Deno.serve was called without a handler");
  const onError = options.onError as ((error: unknown) => Response) | undefined;
  server = realServe({
    hostname: "127.0.0.1",
    port,
    onError,
    onListen: () => console.log(`[function] listening on 127.0.0.1:${port}`),
  }, handler);
  return server;
}
(Deno as unknown as { serve: typeof serveOnWorkerPort }).serve = serveOnWorkerPort;

async function shutdown() {
  dispatchEvent(new CustomEvent("beforeunload", { detail: { reason: "termination" } }));
  await server?.shutdown();
  // Background work may start more background work (a follow-up sync): drain until empty.
  const giveUpAt = Date.now() + BACKGROUND_GRACE_MS;
  while (backgroundWork.size > 0 && Date.now() < giveUpAt) {
    const deadline = new Promise((resolve) => setTimeout(resolve, giveUpAt - Date.now()));
    await Promise.race([Promise.allSettled([...backgroundWork]), deadline]);
  }
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);

await import(pathToFileURL(entrypoint).href);
if (!server) {
  console.error(`${entrypoint} did not call Deno.serve`);
  Deno.exit(1);
}

// The gateway's own process: serves stack/gateway.ts on an internal port (nginx is in front of
// it on API_PORT, stack/nginx.ts), apart from the supervisor's log pumping and every other part
// of the stack.
//
//   deno run -A stack/gateway_main.ts <port>
//
// Invariants:
//   - Its stdin is a line protocol from the supervisor: the first line is the GatewayConfig as
//     JSON, each further line a GatewayUpdate (an upstream restarting, up, on a new port, ...).
//     No secret travels on the command line.
//   - It prints "[gateway] listening on 127.0.0.1:<port>" once it serves.
//   - It exits when stdin closes (the supervisor is gone: nothing would restart anything) and
//     on SIGTERM/SIGINT, after the requests in flight are answered (at most 3 s).
import { createGateway, type GatewayConfig, type GatewayUpdate } from "./gateway.ts";

const port = Number(Deno.args[0]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: gateway_main.ts <port>  (configuration as JSON lines on stdin)");
  Deno.exit(2);
}

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).values();
let buffered = "";
async function nextLine(): Promise<string | null> {
  while (!buffered.includes("\n")) {
    const { done, value } = await lines.next();
    if (done) return null;
    buffered += value;
  }
  const end = buffered.indexOf("\n");
  const line = buffered.slice(0, end);
  buffered = buffered.slice(end + 1);
  return line;
}

const first = await nextLine();
if (first === null) Deno.exit(0);
const gateway = createGateway(JSON.parse(first) as GatewayConfig);
const abort = new AbortController();
const server = Deno.serve({
  hostname: "127.0.0.1",
  port,
  signal: abort.signal,
  onListen: () => console.log(`[gateway] listening on 127.0.0.1:${port}`),
  onError: (error) => {
    console.error("[gateway] unhandled:", error);
    return new Response(JSON.stringify({ message: "An unexpected error occurred" }), {
      status: 500,
      headers: { "content-type": "application/json" },
    });
  },
}, gateway.handle);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  abort.abort();
  // Answers in flight finish; an idle keep-alive client is not waited for (Deno 2.1 can wait
  // for its idle timeout after an event stream).
  await Promise.race([server.finished, new Promise((resolve) => setTimeout(resolve, 3_000))]);
  gateway.close();
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);

while (true) {
  const line = await nextLine();
  if (line === null) break;
  if (!line.trim()) continue;
  try {
    gateway.update(JSON.parse(line) as GatewayUpdate);
  } catch (error) {
    console.error("[gateway] bad update:", error);
  }
}
await stop();

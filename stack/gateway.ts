// The API gateway of the local stack, standing in for the hosted project's API host. The request
// handler lives here (so tests can run it in-process against fake upstreams); stack/gateway_main.ts
// runs it in its own process on API_PORT.
//
//   /rest/v1, /rest/v1/…   → PostgREST (needs a known `apikey`, like Supabase's gateway)
//   /functions/v1/<name>…  → that function's worker (HS256 JWT checked when verify_jwt = true)
//   /status/…, /web/dist/… → static files (stack/static_files.ts), when their folders exist
//   /, /health             → {"status": "ok", "functions": [...]}
//   anything else          → 404 {"message": "no Route matched with those values"}
//
// Invariants:
//   - Routes match whole path SEGMENTS of the normalised path (`/rest/v1x` is not `/rest/v1`), and
//     a function route names a function of the known set.
//   - Upstream URLs are composed from an origin fixed in the configuration and a path that starts
//     with exactly one "/" and is checked again after composing: no request can choose the
//     upstream host, port or credentials.
//   - Answers never contain internal addresses, ports or error strings; those go to `log`.
//   - Request bodies are read before forwarding (so a request can be replayed when an upstream
//     restarts) and finite response bodies are sent in one piece. Deno.serve leaves Nagle's
//     algorithm on for accepted sockets, so a streamed body's final chunk waited for the client's
//     delayed ACK: ~40 ms per keep-alive request. Event streams and very large or paused bodies
//     are still streamed.
//   - A function that is restarting is waited for (up to `coldStartMs`), like a cold start; the
//     supervisor reports each upstream's state through `update`.
import { verifyJwt } from "./keys.ts";
import { serveStaticFile, type StaticMount } from "./static_files.ts";

/** `starting`: being (re)started, wait for it; `up`: serving; `failed`: did not boot (the
 *  supervisor retries later); `stopped`: the stack is stopping. */
export type UpstreamState = "starting" | "up" | "failed" | "stopped";

export interface GatewayConfig {
  postgrest: { origin: string; state?: UpstreamState };
  functions: { name: string; origin: string; verifyJwt: boolean; state?: UpstreamState }[];
  jwtSecret: string;
  /** Keys accepted as `apikey` on /rest/v1 (the stack's anon and service-role keys). */
  apiKeys: string[];
  /** The folder whose `status/` and `dist/` are served at /status/ and /web/dist/. */
  staticRoot?: string | null;
  /** How long a request waits for a (re)starting upstream before a 503. */
  coldStartMs?: number;
  /** At most this many requests in flight to PostgREST; more wait their turn. */
  postgrestConcurrency?: number;
}

/** A change of one upstream, sent by the supervisor when it restarts something. */
export type GatewayUpdate =
  | { kind: "postgrest"; origin?: string; state: UpstreamState }
  | { kind: "function"; name: string; origin?: string; state: UpstreamState }
  | { kind: "all-functions"; state: UpstreamState };

export interface Gateway {
  handle(request: Request): Promise<Response>;
  update(change: GatewayUpdate): void;
  close(): void;
}

const DEFAULT_COLD_START_MS = 10_000;
// Bodies up to this size are sent in one piece; larger ones stream after it.
const MAX_BUFFERED_BODY = 4 * 1024 * 1024;
// A body that pauses this long after its first bytes is a stream: pass it on as it comes.
const STREAM_PAUSE_MS = 50;
// Below the 30 s after which PostgREST (warp) and Deno.serve close idle keep-alive connections,
// so the gateway does not pick a connection its upstream is closing.
const POOL_IDLE_TIMEOUT_MS = 5_000;

// Supabase's API gateway (Kong) runs the cors plugin with its defaults on /rest/v1: any origin,
// Kong's default method list, and the request's own Access-Control-Request-Headers echoed.
const REST_CORS_ORIGIN = { "access-control-allow-origin": "*" };
const REST_CORS_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT";

// Hop-by-hop headers (RFC 9110 7.6.1) never cross a proxy; neither do lengths of bodies the
// gateway re-frames, nor the caller's idea of the host.
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

const noRoute = () => json(404, { message: "no Route matched with those values" });
const badGateway = (headers: Record<string, string> = {}) =>
  json(502, { message: "An invalid response was received from the upstream server" }, headers);

/** An `http://host:port` origin from configuration; anything else is a configuration error. */
export function upstreamOrigin(value: string): string {
  const url = new URL(value);
  if (
    url.protocol !== "http:" || url.username || url.password || url.search || url.hash ||
    url.pathname !== "/"
  ) {
    throw new Error(`an upstream must be a bare http origin, got ${value}`);
  }
  return url.origin;
}

/** origin + path, where path starts with one "/"; throws rather than leave the origin. */
function upstreamUrl(origin: string, path: string, search: string): string {
  if (!path.startsWith("/")) throw new Error(`upstream path must start with "/": ${path}`);
  const target = `${origin}${path}${search}`;
  if (new URL(target).origin !== origin) throw new Error(`upstream URL left its origin: ${target}`);
  return target;
}

class Upstream {
  #changed = Promise.withResolvers<void>();
  constructor(public origin: string, public state: UpstreamState) {}

  set(state: UpstreamState, origin?: string) {
    if (origin !== undefined) this.origin = upstreamOrigin(origin);
    this.state = state;
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }

  /** Resolves on the next change of state or origin, or after `ms`. */
  async changeOrTimeout(ms: number): Promise<void> {
    let timer: number | undefined;
    await Promise.race([
      this.#changed.promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, Math.max(0, ms))),
    ]);
    clearTimeout(timer);
  }
}

/** A FIFO of waiting requests in front of an upstream with a bounded pool. */
class Limiter {
  #active = 0;
  #waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

type FailureKind = "refused" | "stale" | "other";

/** What a failed fetch tells about the upstream (Deno 2.1 reports hyper's errors as text). */
function failureKind(error: unknown): FailureKind {
  const text = String(error);
  if (/\(Connect\)|connection refused|os error 111/i.test(text)) return "refused";
  if (/connection closed before message completed|connection reset|broken pipe/i.test(text)) {
    return "stale";
  }
  return "other";
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const PAUSED = Symbol("paused");

/**
 * The upstream body as one buffer when it ends soon (the common case: JSON from PostgREST or a
 * function), otherwise a stream that replays what was read and passes on the rest as it comes.
 */
async function coalescedBody(upstream: Response): Promise<BodyInit | null> {
  if (!upstream.body) return null;
  const reader = upstream.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let pending = reader.read();
  // An event stream is a stream from its first byte.
  let streaming = /^text\/event-stream/i.test(upstream.headers.get("content-type") ?? "");
  while (!streaming) {
    let result: ReadableStreamReadResult<Uint8Array> | typeof PAUSED;
    if (chunks.length === 0) {
      result = await pending;
    } else {
      let timer: number | undefined;
      result = await Promise.race([
        pending,
        new Promise<typeof PAUSED>((resolve) =>
          timer = setTimeout(resolve, STREAM_PAUSE_MS, PAUSED)
        ),
      ]);
      clearTimeout(timer);
    }
    if (result === PAUSED) break;
    if (result.done) return concat(chunks, size);
    chunks.push(result.value);
    size += result.value.byteLength;
    pending = reader.read();
    streaming = size > MAX_BUFFERED_BODY;
  }
  // A stream after all: what was read first, then the rest as it arrives.
  let head: Uint8Array | null = chunks.length ? concat(chunks, size) : null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (head) {
        controller.enqueue(head);
        head = null;
        return;
      }
      const next = await pending;
      if (next.done) {
        controller.close();
        return;
      }
      controller.enqueue(next.value);
      pending = reader.read();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function stripHopByHop(headers: Headers) {
  for (const token of (headers.get("connection") ?? "").split(",")) {
    const name = token.trim().toLowerCase();
    if (name) headers.delete(name);
  }
  for (const name of HOP_BY_HOP) headers.delete(name);
}

function bearerToken(headers: Headers): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "");
  return match ? match[1] : null;
}

type Route =
  | { kind: "rest"; path: string }
  | { kind: "function"; name: string; path: string }
  | { kind: "static"; mount: StaticMount; segments: string[] }
  | { kind: "health" }
  | { kind: "none" };

/** Which route a normalised path takes, by whole segments. */
function route(pathname: string): Route {
  if (pathname === "/" || pathname === "/health") return { kind: "health" };
  const segments = pathname.split("/").slice(1);
  const [first, second, third] = segments;
  if (first === "rest" && second === "v1") {
    return { kind: "rest", path: segments.length === 2 ? "/" : `/${segments.slice(2).join("/")}` };
  }
  if (first === "functions" && second === "v1" && third) {
    const rest = segments.slice(3);
    return { kind: "function", name: third, path: rest.length ? `/${rest.join("/")}` : "" };
  }
  if (first === "status") return { kind: "static", mount: "status", segments: segments.slice(1) };
  if (first === "web" && second === "dist") {
    return { kind: "static", mount: "dist", segments: segments.slice(2) };
  }
  return { kind: "none" };
}

export function createGateway(
  config: GatewayConfig,
  log: (message: string) => void = (message) => console.error(`[gateway] ${message}`),
): Gateway {
  const coldStartMs = config.coldStartMs ?? DEFAULT_COLD_START_MS;
  const postgrest = new Upstream(
    upstreamOrigin(config.postgrest.origin),
    config.postgrest.state ?? "up",
  );
  const functions = new Map<string, { upstream: Upstream; verifyJwt: boolean }>();
  for (const definition of config.functions) {
    functions.set(definition.name, {
      upstream: new Upstream(upstreamOrigin(definition.origin), definition.state ?? "up"),
      verifyJwt: definition.verifyJwt,
    });
  }
  const apiKeys = new Set(config.apiKeys);
  const postgrestLimiter = new Limiter(config.postgrestConcurrency ?? 64);
  const client = Deno.createHttpClient({ poolIdleTimeout: POOL_IDLE_TIMEOUT_MS });
  // Replays go over a new connection: one the upstream already closed cannot be picked twice.
  const freshClient = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });

  /**
   * Sends the request to `upstream`, waiting while it (re)starts and replaying the request once
   * on a connection the upstream had already closed. `unavailable` answers when it cannot.
   */
  async function forward(
    request: Request,
    upstream: Upstream,
    label: string,
    path: string,
    search: string,
    headers: Headers,
    options: { replayAnyMethod: boolean; unavailable: () => Response },
  ): Promise<Response> {
    const body = request.body && request.method !== "GET" && request.method !== "HEAD"
      ? new Uint8Array(await request.arrayBuffer())
      : undefined;
    stripHopByHop(headers);
    headers.delete("host");
    headers.delete("content-length");
    // The gateway re-frames bodies; plain bytes from upstream keep that cheap.
    headers.set("accept-encoding", "identity");
    const deadline = Date.now() + coldStartMs;
    let replayed = false;
    let backoff = 10;
    while (true) {
      if (upstream.state === "stopped" || upstream.state === "failed") return options.unavailable();
      if (upstream.state === "starting") {
        if (Date.now() >= deadline) return options.unavailable();
        await upstream.changeOrTimeout(deadline - Date.now());
        continue;
      }
      let target: string;
      try {
        target = upstreamUrl(upstream.origin, path, search);
      } catch (error) {
        log(`${label}: refused to forward: ${error}`);
        return noRoute();
      }
      let response: Response;
      try {
        response = await fetch(target, {
          method: request.method,
          headers,
          body,
          redirect: "manual",
          client: replayed ? freshClient : client,
        });
      } catch (error) {
        const kind = failureKind(error);
        if (kind === "refused" && Date.now() < deadline) {
          // Crashed and not yet reported, or restarting on the same port: like a cold start.
          await upstream.changeOrTimeout(Math.min(backoff, deadline - Date.now()));
          backoff = Math.min(backoff * 2, 250);
          continue;
        }
        if (
          kind === "stale" && !replayed &&
          (options.replayAnyMethod || IDEMPOTENT.has(request.method))
        ) {
          replayed = true;
          continue;
        }
        log(`${label} ${request.method} ${path}: ${error}`);
        return kind === "refused" ? options.unavailable() : badGateway();
      }
      const responseHeaders = new Headers(response.headers);
      stripHopByHop(responseHeaders);
      let responseBody: BodyInit | null;
      try {
        responseBody = request.method === "HEAD" ? null : await coalescedBody(response);
      } catch (error) {
        log(`${label} ${request.method} ${path}: body failed: ${error}`);
        return badGateway();
      }
      if (responseBody !== null) responseHeaders.delete("content-length");
      return new Response(responseBody, {
        status: response.status,
        statusText: response.statusText,
        headers: responseHeaders,
      });
    }
  }

  async function handleRest(request: Request, url: URL, path: string): Promise<Response> {
    if (request.method === "OPTIONS") {
      const headers: Record<string, string> = {
        ...REST_CORS_ORIGIN,
        "access-control-allow-methods": REST_CORS_METHODS,
        "content-length": "0",
      };
      const requested = request.headers.get("access-control-request-headers");
      if (requested) headers["access-control-allow-headers"] = requested;
      return new Response(null, { status: 200, headers });
    }
    const headers = new Headers(request.headers);
    const apiKey = headers.get("apikey") ?? url.searchParams.get("apikey");
    if (!apiKey) return json(401, { message: "No API key found in request" }, REST_CORS_ORIGIN);
    if (!apiKeys.has(apiKey)) return json(401, { message: "Invalid API key" }, REST_CORS_ORIGIN);
    // Like Kong's key-auth with hide_credentials: PostgREST never sees the key as such, and the
    // key is the bearer when the client sent no session.
    headers.delete("apikey");
    const params = new URLSearchParams(url.search);
    params.delete("apikey");
    const search = params.size ? `?${params}` : "";
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${apiKey}`);
    const response = await postgrestLimiter.run(() =>
      forward(request, postgrest, "postgrest", path, search, headers, {
        replayAnyMethod: true, // PostgREST runs each request in a transaction
        unavailable: () =>
          json(503, { message: "The upstream server is currently unavailable" }, REST_CORS_ORIGIN),
      })
    );
    for (const [name, value] of Object.entries(REST_CORS_ORIGIN)) response.headers.set(name, value);
    return response;
  }

  async function handleFunction(
    request: Request,
    url: URL,
    name: string,
    path: string,
  ): Promise<Response> {
    const target = functions.get(name);
    if (!target) {
      return json(404, { code: "NOT_FOUND", message: "Requested function was not found" });
    }
    // Hosted, preflights reach the function untouched: the function answers CORS itself.
    if (target.verifyJwt && request.method !== "OPTIONS") {
      const token = bearerToken(request.headers);
      if (!token) return json(401, { code: 401, message: "Missing authorization header" });
      try {
        await verifyJwt(token, config.jwtSecret);
      } catch {
        return json(401, { code: 401, message: "Invalid JWT" });
      }
    }
    // Inside the function the path starts with the function's name, as when hosted.
    return await forward(
      request,
      target.upstream,
      `function ${name}`,
      `/${name}${path}`,
      url.search,
      new Headers(request.headers),
      {
        replayAnyMethod: false,
        unavailable: () =>
          json(503, {
            code: "BOOT_ERROR",
            message: "Function failed to start (please check logs)",
          }),
      },
    );
  }

  async function handle(request: Request): Promise<Response> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return json(400, { message: "Bad request" });
    }
    const target = route(url.pathname);
    try {
      switch (target.kind) {
        case "rest":
          return await handleRest(request, url, target.path);
        case "function":
          return await handleFunction(request, url, target.name, target.path);
        case "static":
          return (config.staticRoot &&
            await serveStaticFile(request, config.staticRoot, target.mount, target.segments)) ||
            noRoute();
        case "health":
          return json(200, { status: "ok", functions: [...functions.keys()] });
        default:
          return noRoute();
      }
    } catch (error) {
      log(`${request.method} ${url.pathname}: ${error instanceof Error ? error.stack : error}`);
      return json(500, { message: "An unexpected error occurred" });
    }
  }

  return {
    handle,
    update(change) {
      if (change.kind === "postgrest") postgrest.set(change.state, change.origin);
      else if (change.kind === "all-functions") {
        for (const { upstream } of functions.values()) upstream.set(change.state);
      } else {
        const target = functions.get(change.name);
        if (!target) log(`update for an unknown function ${change.name}`);
        else target.upstream.set(change.state, change.origin);
      }
    },
    close() {
      client.close();
      freshClient.close();
    },
  };
}

// The pg_net stand-in's background worker: sends the HTTP requests queued by net.http_get /
// net.http_post / net.http_delete and records each outcome in net._http_response, as pg_net
// does. Rows become visible (and the NOTIFY that wakes this worker arrives) only when the
// queueing transaction commits, so a rolled-back transaction never sends anything.
//
// Runs in its own process (`deno run -A stack/pg_net_worker.ts`, DB_URL in the environment),
// started and restarted by the supervisor: it prints "[pg_net] ready" once it listens, and on
// SIGTERM finishes the batch in flight before exiting. Requests queued while it was down are
// picked up by the next poll, as with pg_net's own background worker.
import postgres from "postgres";

const BATCH_SIZE = 32;
const POLL_INTERVAL_MS = 1_000;
// pg_net keeps responses for 6 hours by default (pg_net.ttl).
const RESPONSE_TTL = "6 hours";

interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  timeout_milliseconds: number;
}

export interface PgNetWorker {
  stop(): Promise<void>;
}

export async function startPgNetWorker(dbUrl: string): Promise<PgNetWorker> {
  const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
  let stopped = false;
  let draining: Promise<void> | null = null;
  let wakeAgain = false;

  async function sendOne(request: QueuedRequest) {
    const started = performance.now();
    let statusCode: number | null = null;
    let contentType: string | null = null;
    let headers: Record<string, string> | null = null;
    let content: string | null = null;
    let timedOut = false;
    let errorMessage: string | null = null;
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.method === "GET" || request.method === "DELETE" ? undefined : request.body,
        signal: AbortSignal.timeout(request.timeout_milliseconds),
      });
      statusCode = response.status;
      contentType = response.headers.get("content-type");
      headers = Object.fromEntries(response.headers);
      content = await response.text();
    } catch (error) {
      timedOut = error instanceof DOMException && error.name === "TimeoutError";
      errorMessage = timedOut
        ? `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${
          Math.round(performance.now() - started)
        } ms`
        : String(error);
    }
    await sql`
      insert into net._http_response
        (id, status_code, content_type, headers, content, timed_out, error_msg)
      values (${request.id}, ${statusCode}, ${contentType}, ${headers ? sql.json(headers) : null},
        ${content}, ${timedOut}, ${errorMessage})`;
  }

  async function drain() {
    while (!stopped) {
      const batch = await sql<QueuedRequest[]>`
        delete from net.http_request_queue
        where id in (
          select id from net.http_request_queue order by id limit ${BATCH_SIZE}
          for update skip locked)
        returning id::text, method, url, headers, convert_from(body, 'UTF8') as body,
          timeout_milliseconds`;
      if (batch.length === 0) return;
      await Promise.all(batch.map(sendOne));
    }
  }

  function wake() {
    if (draining) {
      wakeAgain = true;
      return;
    }
    draining = drain().catch((error) => console.error("[pg_net] worker error:", error))
      .finally(() => {
        draining = null;
        if (wakeAgain && !stopped) {
          wakeAgain = false;
          wake();
        }
      });
  }

  const listener = await sql.listen("net_http_request_queue", () => wake());
  // NOTIFY is the fast path; polling covers requests queued while the worker was down.
  const poll = setInterval(wake, POLL_INTERVAL_MS);
  const cleanup = setInterval(() => {
    sql`delete from net._http_response where created < now() - ${RESPONSE_TTL}::interval`
      .catch(() => {});
  }, 60_000);
  wake();

  return {
    async stop() {
      stopped = true;
      clearInterval(poll);
      clearInterval(cleanup);
      await draining;
      await listener.unlisten();
      await sql.end({ timeout: 5 });
    },
  };
}

if (import.meta.main) {
  const dbUrl = Deno.env.get("DB_URL");
  if (!dbUrl) {
    console.error("DB_URL is not set");
    Deno.exit(2);
  }
  const worker = await startPgNetWorker(dbUrl);
  console.log("[pg_net] ready");
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await worker.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

// Fault injection (queued error rules, latency, dropped notifications) and request counters.
//
// A rule matches on every criterion it names (method AND path AND operation AND header
// presence); the first matching rule in queue order wins and is consumed. Without `after` the
// request never reaches its handler; with `after: true` the handler runs (state changes,
// notifications fire) and only the answer is replaced — "the write reached Google's backend but
// the client never got an answer". Status 0 means no answer at all: the connection is closed
// before a status line is sent, so the client sees a network error.

import { googleError, oauthError } from "./errors.ts";
import { FaultQueue, type QueuedRule } from "../shared/faults.ts";
import { isRecord } from "./util.ts";

export interface FaultRule extends QueuedRule {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Substring of the URL path to match, e.g. "events" or "/token" (any when omitted). */
  path?: string;
  /** Exact operation name to match, e.g. "events.list" (any when omitted). */
  operation?: string;
  /** Match only requests that carry (true) or lack (false) an If-Match header. */
  ifMatch?: boolean;
  /** Match only requests that carry this header (name, case-insensitive). */
  header?: string;
  /** Run the request normally, then replace its response (or abort, for status 0). */
  after: boolean;
  /** 4xx/5xx = that error; 0 = abort the connection without any response. */
  status: number;
  reason?: string;
  message?: string;
  /** Fail this many matching requests (default 1) after skipping `skip` matches (default 0). */
  times: number;
  skip: number;
  /** Optional Retry-After header value (seconds). */
  retryAfterSeconds?: number;
  /** Matches seen so far (skipped + failed). */
  matched: number;
}

export function parseFaultRule(v: unknown): FaultRule | string {
  if (!isRecord(v)) return "rule must be an object";
  const status = Number(v.status);
  if (!Number.isInteger(status) || (status !== 0 && (status < 400 || status > 599))) {
    return "status must be 4xx/5xx (or 0 = abort the connection)";
  }
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  if (v.ifMatch !== undefined && typeof v.ifMatch !== "boolean") return "ifMatch must be boolean";
  if (v.after !== undefined && typeof v.after !== "boolean") return "after must be boolean";
  return {
    method: str("method")?.toUpperCase(),
    path: str("path"),
    operation: str("operation"),
    ifMatch: v.ifMatch as boolean | undefined,
    header: str("header")?.toLowerCase(),
    after: v.after === true,
    status,
    reason: str("reason"),
    message: str("message"),
    times: v.times === undefined ? 1 : Number(v.times),
    skip: v.skip === undefined ? 0 : Number(v.skip),
    retryAfterSeconds: v.retryAfterSeconds === undefined ? undefined : Number(v.retryAfterSeconds),
    matched: 0,
  };
}

/** A fault that fired (kept for tests: "did the write really happen before the 503?"). */
export interface FiredFault {
  operation: string;
  method: string;
  path: string;
  status: number;
  after: boolean;
  /** Status the real handler produced (only for `after` rules). */
  handledStatus?: number;
  at: string;
}

/** Google's faults: the shared queue, latency and drops, and the faults that fired. */
export class Faults extends FaultQueue<FaultRule> {
  fired: FiredFault[] = [];

  override reset(): void {
    super.reset();
    this.fired = [];
  }

  /** The first matching rule, consumed; also by If-Match and header presence. */
  match(operation: string, req: Request, path: string): FaultRule | undefined {
    return this.take(
      operation,
      req.method,
      path,
      (rule) =>
        (rule.ifMatch === undefined || req.headers.has("if-match") === rule.ifMatch) &&
        (!rule.header || req.headers.has(rule.header)),
    );
  }
}

/**
 * A response whose body fails before anything is written: the server closes the connection
 * without a status line, so the client's fetch rejects with a network error.
 */
export function abortedResponse(): Response {
  return new Response(
    new ReadableStream({
      pull(controller) {
        controller.error(new Error("google emulator: connection aborted by fault rule"));
      },
    }),
  );
}

/** The answer a matched rule gives instead of the real one. */
export function faultResponse(rule: FaultRule, operation: string): Response {
  if (rule.status === 0) return abortedResponse();
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) headers["retry-after"] = String(rule.retryAfterSeconds);
  if (operation.startsWith("oauth.")) {
    // The token endpoint speaks RFC 6749 errors, not the Calendar error envelope.
    const error = rule.reason ?? (rule.status >= 500 ? "internal_failure" : "invalid_request");
    const res = oauthError(rule.status, error, rule.message ?? "Injected fault");
    for (const [k, val] of Object.entries(headers)) res.headers.set(k, val);
    return res;
  }
  return googleError(
    rule.status,
    rule.reason,
    rule.message ? { message: rule.message } : {},
    headers,
  );
}

/** Per-operation request counters (every API request counts, including failed ones). */
export { Counters } from "../shared/counters.ts";

// Fault injection: queued error rules (checked before authentication), added latency, and
// dropped webhook deliveries. Rules are consumed in queue order: the first matching rule lets
// its first `skip` matches through, fails the next `times`, then disappears.

import { apiError, defaultMessage, defaultTitle, oauthError } from "./errors.ts";
import { FaultQueue, type QueuedRule } from "../shared/faults.ts";
import { isRecord } from "./util.ts";

export interface FaultRule extends QueuedRule {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Substring of the URL path, e.g. "/scheduled_events" or "/oauth/token". */
  path?: string;
  /** Exact operation name, e.g. "scheduled_events.list" or "oauth.token". */
  operation?: string;
  status: number;
  title?: string;
  message?: string;
  /** OAuth error code for faults on oauth.* operations (default by status). */
  error?: string;
  times: number;
  skip: number;
  /** When set, the response carries X-RateLimit-Remaining: 0 and this X-RateLimit-Reset. */
  rateLimitResetSeconds?: number;
  /** Matches seen so far (skipped + failed). */
  matched: number;
}

export function parseFaultRule(v: unknown): FaultRule | string {
  if (!isRecord(v)) return "rule must be an object";
  const status = Number(v.status);
  if (!Number.isInteger(status) || status < 300 || status > 599) return "status must be 3xx-5xx";
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const int = (k: string, dflt: number) => (v[k] === undefined ? dflt : Number(v[k]));
  const times = int("times", 1);
  const skip = int("skip", 0);
  if (!Number.isInteger(times) || times < 1) return "times must be an integer >= 1";
  if (!Number.isInteger(skip) || skip < 0) return "skip must be an integer >= 0";
  const reset = v.rateLimitResetSeconds === undefined ? undefined : Number(v.rateLimitResetSeconds);
  if (reset !== undefined && !(reset >= 0)) return "rateLimitResetSeconds must be >= 0";
  return {
    method: str("method")?.toUpperCase(),
    path: str("path"),
    operation: str("operation"),
    status,
    title: str("title"),
    message: str("message"),
    error: str("error"),
    times,
    skip,
    rateLimitResetSeconds: reset,
    matched: 0,
  };
}

/** Calendly's faults: the shared queue, latency and drops (shared/faults.ts). */
export class Faults extends FaultQueue<FaultRule> {}

/** The response a rule produces: OAuth error bodies on oauth.*, Calendly errors elsewhere. */
export function faultResponse(rule: FaultRule, operation: string): Response {
  if (operation.startsWith("oauth.")) {
    const error = rule.error ??
      (rule.status === 401
        ? "invalid_client"
        : rule.status >= 500
        ? "server_error"
        : rule.status === 429
        ? "too_many_requests"
        : "invalid_request");
    return oauthError(rule.status, error, rule.message ?? "Injected fault");
  }
  return apiError(
    rule.status,
    rule.title ?? defaultTitle(rule.status),
    rule.message ?? defaultMessage(rule.status),
  );
}

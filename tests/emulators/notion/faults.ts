// Fault injection (queued error rules, latency, dropped webhook events) and request counters.
// Invariants: rules are matched in queue order and the first match decides; a rule lets its
// first `skip` matches through, fails the next `times`, then disappears; every API request is
// counted under its operation name, faulted and rate-limited ones included.

import { defaultCode, notionError, oauthError } from "./errors.ts";
import { Counters as SharedCounters } from "../shared/counters.ts";
import { FaultQueue, type QueuedRule } from "../shared/faults.ts";
import { isRecord } from "./util.ts";

export interface FaultRule extends QueuedRule {
  method?: string;
  /** Substring of the URL path ("/v1/pages", "query"). */
  path?: string;
  /** Exact operation name ("data_sources.query"). */
  operation?: string;
  status: number;
  code?: string;
  message?: string;
  retryAfterSeconds?: number;
  times: number;
  skip: number;
  matched: number;
}

export function parseFaultRule(v: unknown): FaultRule | string {
  if (!isRecord(v)) return "rule must be an object";
  const status = Number(v.status);
  if (!Number.isInteger(status) || status < 400 || status > 599) return "status must be 4xx/5xx";
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  const num = (k: string, dflt?: number) => (v[k] === undefined ? dflt : Number(v[k]));
  const times = num("times", 1)!;
  const skip = num("skip", 0)!;
  if (!(times >= 1) || !(skip >= 0)) return "times must be >= 1 and skip >= 0";
  let retryAfterSeconds = num("retryAfterSeconds");
  if (retryAfterSeconds === undefined && (status === 429 || status === 529)) retryAfterSeconds = 1;
  return {
    method: str("method")?.toUpperCase(),
    path: str("path"),
    operation: str("operation"),
    status,
    code: str("code"),
    message: str("message"),
    retryAfterSeconds,
    times,
    skip,
    matched: 0,
  };
}

/** Notion's faults: the shared queue, latency and drops; a matching rule answers as Notion. */
export class Faults extends FaultQueue<FaultRule> {
  /** First matching rule (queue order) as a response; exhausted rules are removed. */
  match(operation: string, method: string, path: string): Response | undefined {
    const rule = this.take(operation, method, path);
    return rule && faultResponse(rule, operation);
  }
}

function faultResponse(rule: FaultRule, operation: string): Response {
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) headers["retry-after"] = String(rule.retryAfterSeconds);
  let res: Response;
  if (operation === "oauth.token") {
    res = oauthError(
      rule.status,
      rule.code ?? (rule.status >= 500 ? "server_error" : "invalid_request"),
      rule.message,
    );
  } else {
    res = notionError(rule.status, rule.code ?? defaultCode(rule.status), rule.message);
  }
  for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
  return res;
}

/** Per-operation request counters and in-flight high-water marks. */
/** Notion's counters: the shared ones, and presentations of already-used refresh tokens. */
export class Counters extends SharedCounters {
  refreshTokenReuse = 0;

  override reset(): void {
    super.reset();
    this.refreshTokenReuse = 0;
  }
}

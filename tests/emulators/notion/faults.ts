// Fault injection (queued error rules, latency, dropped webhook events) and request counters.
// Invariants: rules are matched in queue order and the first match decides; a rule lets its
// first `skip` matches through, fails the next `times`, then disappears; every API request is
// counted under its operation name, faulted and rate-limited ones included.

import { defaultCode, notionError, oauthError } from "./errors.ts";
import { isRecord, seededRandom } from "./util.ts";

export interface FaultRule {
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

export class Faults {
  rules: FaultRule[] = [];
  latencyMs = 0;
  dropNext = 0;
  dropRatio = 0;
  #dropRandom = seededRandom(1);

  reset(): void {
    this.rules = [];
    this.latencyMs = 0;
    this.dropNext = 0;
    this.dropRatio = 0;
    this.#dropRandom = seededRandom(1);
  }

  setDrops(next?: number, ratio?: number, seed?: number): void {
    if (next !== undefined) this.dropNext = next;
    if (ratio !== undefined) this.dropRatio = ratio;
    if (seed !== undefined) this.#dropRandom = seededRandom(seed);
  }

  /** Decide whether the next webhook event is silently dropped (at-most-once delivery). */
  shouldDrop(): boolean {
    if (this.dropNext > 0) {
      this.dropNext--;
      return true;
    }
    return this.dropRatio > 0 && this.#dropRandom() < this.dropRatio;
  }

  /** First matching rule (queue order) as a response; exhausted rules are removed. */
  match(operation: string, method: string, path: string): Response | undefined {
    for (const rule of this.rules) {
      if (rule.method && rule.method !== method) continue;
      if (rule.path && !path.includes(rule.path)) continue;
      if (rule.operation && rule.operation !== operation) continue;
      rule.matched++;
      if (rule.matched <= rule.skip) return undefined;
      if (rule.matched >= rule.skip + rule.times) this.rules = this.rules.filter((r) => r !== rule);
      return faultResponse(rule, operation);
    }
    return undefined;
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
export class Counters {
  #counts = new Map<string, number>();
  #inFlight = new Map<string, number>();
  #maxInFlight = new Map<string, number>();
  refreshTokenReuse = 0;

  inc(op: string): void {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
  }

  enter(op: string): void {
    const now = (this.#inFlight.get(op) ?? 0) + 1;
    this.#inFlight.set(op, now);
    this.#maxInFlight.set(op, Math.max(now, this.#maxInFlight.get(op) ?? 0));
  }

  leave(op: string): void {
    this.#inFlight.set(op, (this.#inFlight.get(op) ?? 1) - 1);
  }

  get(op: string): number {
    return this.#counts.get(op) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  maxInFlightSnapshot(): Record<string, number> {
    return Object.fromEntries([...this.#maxInFlight].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.#counts.clear();
    this.#maxInFlight.clear();
    this.refreshTokenReuse = 0;
  }
}

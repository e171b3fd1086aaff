// Fault injection every emulator offers through its control API: queued error rules, added
// latency, and dropped webhook / push deliveries. What a rule produces (the vendor's error body,
// headers, "after the write") is each emulator's own; how rules queue and match is shared.
// Invariants: rules are matched in queue order and the first match decides; a rule lets its
// first `skip` matches through, fails the next `times`, then disappears; drops are decided by a
// seeded PRNG, so a run repeats exactly.
import { seededRandom } from "./random.ts";

export interface QueuedRule {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Substring of the URL path to match (any when omitted). */
  path?: string;
  /** Exact operation name to match (any when omitted). */
  operation?: string;
  times: number;
  skip: number;
  /** Matches seen so far (skipped + failed). */
  matched: number;
}

export class FaultQueue<R extends QueuedRule> {
  rules: R[] = [];
  latencyMs = 0;
  dropNext = 0;
  dropRatio = 0;
  #dropRandom = seededRandom(1);

  reset(seed = 1): void {
    this.rules = [];
    this.latencyMs = 0;
    this.dropNext = 0;
    this.dropRatio = 0;
    this.#dropRandom = seededRandom(seed);
  }

  setDrops(next?: number, ratio?: number, seed?: number): void {
    if (next !== undefined) this.dropNext = next;
    if (ratio !== undefined) this.dropRatio = ratio;
    if (seed !== undefined) this.#dropRandom = seededRandom(seed);
  }

  /** Whether the next delivery is silently dropped (at-most-once delivery). */
  shouldDrop(): boolean {
    if (this.dropNext > 0) {
      this.dropNext--;
      return true;
    }
    return this.dropRatio > 0 && this.#dropRandom() < this.dropRatio;
  }

  /**
   * The first rule (queue order) matching the request, consumed; undefined when none matches or
   * the matching rule is still skipping. `accepts`: an emulator's own extra criteria.
   */
  take(
    operation: string,
    method: string,
    path: string,
    accepts: (rule: R) => boolean = () => true,
  ): R | undefined {
    for (const rule of this.rules) {
      if (rule.method && rule.method !== method) continue;
      if (rule.path && !path.includes(rule.path)) continue;
      if (rule.operation && rule.operation !== operation) continue;
      if (!accepts(rule)) continue;
      rule.matched++;
      if (rule.matched <= rule.skip) return undefined;
      if (rule.matched >= rule.skip + rule.times) this.rules = this.rules.filter((r) => r !== rule);
      return rule;
    }
    return undefined;
  }
}

/**
 * The control API's shared fault routes (`POST /faults`, `POST /latency`, `POST /drops`), or
 * undefined for any other route. `parseRule` is the emulator's own rule reader.
 */
export function faultControl<R extends QueuedRule>(
  route: string,
  body: Record<string, unknown>,
  faults: FaultQueue<R>,
  parseRule: (value: unknown) => R | string,
  reply: { json: (body: unknown) => Response; fail: (status: number, message: string) => Response },
): Response | undefined {
  switch (route) {
    case "POST /faults": {
      const list = Array.isArray(body.rules) ? body.rules : [body];
      const parsed: R[] = [];
      for (const value of list) {
        const rule = parseRule(value);
        if (typeof rule === "string") return reply.fail(400, rule);
        parsed.push(rule);
      }
      faults.rules.push(...parsed);
      return reply.json({ rules: faults.rules });
    }
    case "POST /latency": {
      const ms = Number(body.ms ?? 0);
      if (!Number.isFinite(ms) || ms < 0) return reply.fail(400, "ms must be >= 0");
      faults.latencyMs = ms;
      return reply.json({ ms });
    }
    case "POST /drops": {
      const num = (v: unknown) => (v === undefined ? undefined : Number(v));
      const next = num(body.next);
      const ratio = num(body.ratio);
      if (next !== undefined && !(Number.isInteger(next) && next >= 0)) {
        return reply.fail(400, "next must be an integer >= 0");
      }
      if (ratio !== undefined && !(ratio >= 0 && ratio <= 1)) {
        return reply.fail(400, "ratio in [0, 1]");
      }
      faults.setDrops(next, ratio, num(body.seed));
      return reply.json({ next: faults.dropNext, ratio: faults.dropRatio });
    }
  }
  return undefined;
}

// Webhook delivery: aggregation of same-entity same-type events, batching with an optional
// seeded shuffle (out-of-order delivery), at-most-once drops, signed POSTs with retries and
// exponential backoff, the delivery log and redelivery of a logged request.
// Invariants: first attempts go out one at a time in batch order (so order is observable);
// every attempt's body carries its attempt_number (1..maxAttempts) and is signed
// `X-Notion-Signature: sha256=<hex HMAC-SHA256(body, verification_token)>`; a dropped event is
// logged and never sent; verification POSTs are unsigned, sent once and never dropped.

import type { Ctx } from "./context.ts";
import { toIso } from "./time.ts";
import { seededRandom } from "../shared/random.ts";
import { hmacSha256Hex, shuffle } from "./util.ts";

export type Envelope = Record<string, unknown> & {
  id: string;
  timestamp: string;
  authors: Array<{ id: string; type: string }>;
  data: Record<string, unknown>;
};

/** One event for one subscription, as queued. */
export interface Outbound {
  subscriptionId: string;
  url: string;
  secret: string;
  /** Aggregation key: subscription + entity + type. */
  key: string;
  envelope: Envelope;
}

export interface Attempt {
  at: string;
  attempt_number: number;
  status?: number;
  error?: string;
}

export interface DeliveryRecord {
  index: number;
  kind: "verification" | "event" | "redelivery";
  subscription_id: string;
  url: string;
  event_id: string | null;
  type: string | null;
  entity_id: string | null;
  /** Body and headers of the first attempt (what a redelivery replays). */
  body: string | null;
  headers: Record<string, string> | null;
  outcome: "pending" | "delivered" | "failed" | "dropped" | "aborted";
  attempts: Attempt[];
  created_at: string;
  finished_at: string | null;
  redelivery_of?: number;
}

type Held = { item: Outbound; timer: number };

export class Dispatcher {
  deliveries: DeliveryRecord[] = [];
  #ctx: Ctx;
  #isActive: (subscriptionId: string) => boolean;
  #random: () => number;
  #held = new Map<string, Held>();
  #queue: Outbound[] = [];
  #batchTimer: number | undefined;
  #chain: Promise<void> = Promise.resolve();
  #pending = new Set<Promise<unknown>>();
  #sleeps = new Map<number, () => void>();
  #aborts = new Set<AbortController>();
  #closing = false;

  constructor(ctx: Ctx, isActive: (subscriptionId: string) => boolean) {
    this.#ctx = ctx;
    this.#isActive = isActive;
    this.#random = seededRandom(ctx.config.seed);
  }

  /** Events held for aggregation or waiting for their batch. */
  get waiting(): { held: number; queued: number } {
    return { held: this.#held.size, queued: this.#queue.length };
  }

  enqueue(item: Outbound): void {
    const windowMs = this.#ctx.config.aggregationWindowMs;
    if (windowMs > 0) {
      const held = this.#held.get(item.key);
      if (held) return mergeEnvelopes(held.item.envelope, item.envelope);
      const timer = setTimeout(() => this.#releaseHeld(item.key), windowMs);
      this.#held.set(item.key, { item, timer });
      return;
    }
    this.#toQueue(item);
  }

  #releaseHeld(key: string): void {
    const held = this.#held.get(key);
    if (!held) return;
    clearTimeout(held.timer);
    this.#held.delete(key);
    this.#toQueue(held.item);
  }

  #toQueue(item: Outbound): void {
    this.#queue.push(item);
    if (this.#batchTimer === undefined) {
      this.#batchTimer = setTimeout(() => this.#releaseBatch(), this.#ctx.config.deliveryDelayMs);
    }
  }

  #releaseBatch(): void {
    if (this.#batchTimer !== undefined) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    if (this.#ctx.config.reorder) shuffle(batch, this.#random);
    const run = this.#chain.then(() => this.#runBatch(batch));
    this.#chain = run.catch(() => {});
    this.#track(run);
  }

  async #runBatch(batch: Outbound[]): Promise<void> {
    for (const item of batch) {
      const rec = this.#record("event", item.subscriptionId, item.url, item.envelope);
      if (this.#ctx.faults.shouldDrop()) {
        this.#finish(rec, "dropped");
        continue;
      }
      await this.#attempt(rec, item, 1);
    }
  }

  #record(
    kind: DeliveryRecord["kind"],
    subscriptionId: string,
    url: string,
    envelope?: Envelope,
  ): DeliveryRecord {
    const rec: DeliveryRecord = {
      index: this.deliveries.length,
      kind,
      subscription_id: subscriptionId,
      url,
      event_id: envelope?.id ?? null,
      type: (envelope?.type as string | undefined) ?? null,
      entity_id: ((envelope?.entity as { id?: string } | undefined)?.id) ?? null,
      body: null,
      headers: null,
      outcome: "pending",
      attempts: [],
      created_at: toIso(this.#ctx.clock.now()),
      finished_at: null,
    };
    this.deliveries.push(rec);
    return rec;
  }

  #finish(rec: DeliveryRecord, outcome: DeliveryRecord["outcome"]): void {
    rec.outcome = outcome;
    rec.finished_at = toIso(this.#ctx.clock.now());
  }

  async #attempt(rec: DeliveryRecord, item: Outbound, n: number): Promise<void> {
    if (this.#closing || !this.#isActive(item.subscriptionId)) return this.#finish(rec, "aborted");
    const body = JSON.stringify({ ...item.envelope, attempt_number: n });
    const signature = await hmacSha256Hex(item.secret, body);
    const headers = {
      "content-type": "application/json",
      "user-agent": "notion-api",
      "x-notion-signature": `sha256=${signature}`,
    };
    if (n === 1) {
      rec.body = body;
      rec.headers = headers;
    }
    const status = await this.#post(rec, item.url, body, headers, n);
    if (status !== undefined && status >= 200 && status < 300) {
      return this.#finish(rec, "delivered");
    }
    if (this.#closing) return this.#finish(rec, "aborted");
    if (n >= this.#ctx.config.maxAttempts) return this.#finish(rec, "failed");
    const wait = this.#ctx.config.retryBaseMs * 2 ** (n - 1);
    this.#track(this.#sleep(wait).then(() => this.#attempt(rec, item, n + 1)));
  }

  /** One HTTP attempt; logs it and returns the status (undefined on a network error). */
  async #post(
    rec: DeliveryRecord,
    url: string,
    body: string,
    headers: Record<string, string>,
    attemptNumber: number,
  ): Promise<number | undefined> {
    const ac = new AbortController();
    this.#aborts.add(ac);
    const timer = setTimeout(() => ac.abort(), this.#ctx.config.deliveryTimeoutMs);
    const at = toIso(this.#ctx.clock.now());
    try {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body,
        signal: ac.signal,
        redirect: "manual",
      });
      await res.body?.cancel();
      rec.attempts.push({ at, attempt_number: attemptNumber, status: res.status });
      return res.status;
    } catch (e) {
      rec.attempts.push({ at, attempt_number: attemptNumber, error: String(e) });
      return undefined;
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(ac);
    }
  }

  /** The unsigned {"verification_token": ...} POST, sent once. */
  async sendVerification(subscriptionId: string, url: string, token: string) {
    const rec = this.#record("verification", subscriptionId, url);
    const body = JSON.stringify({ verification_token: token });
    const headers = { "content-type": "application/json", "user-agent": "notion-api" };
    rec.body = body;
    rec.headers = headers;
    const run = this.#post(rec, url, body, headers, 1).then((status) =>
      this.#finish(
        rec,
        status !== undefined && status < 300 && status >= 200 ? "delivered" : "failed",
      )
    );
    this.#track(run);
    await run;
    return rec;
  }

  /** Replay a logged request byte for byte (same event id, body and signature). */
  async redeliver(index: number, times: number, concurrent: boolean): Promise<DeliveryRecord[]> {
    const original = this.deliveries[index];
    const body = original.body!;
    const headers = original.headers!;
    const one = async () => {
      const rec: DeliveryRecord = {
        ...this.#record("redelivery", original.subscription_id, original.url),
        event_id: original.event_id,
        type: original.type,
        entity_id: original.entity_id,
        body,
        headers,
        redelivery_of: index,
      };
      this.deliveries[rec.index] = rec;
      const attemptNumber = Number(
        (JSON.parse(body) as Record<string, unknown>).attempt_number ?? 1,
      );
      const status = await this.#post(rec, original.url, body, headers, attemptNumber);
      this.#finish(
        rec,
        status !== undefined && status >= 200 && status < 300 ? "delivered" : "failed",
      );
      return rec;
    };
    const out: DeliveryRecord[] = [];
    if (concurrent) {
      const all = Promise.all(Array.from({ length: times }, one));
      this.#track(all);
      out.push(...await all);
    } else {
      for (let i = 0; i < times; i++) {
        const p = one();
        this.#track(p);
        out.push(await p);
      }
    }
    return out;
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p)).catch(() => {});
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const id = setTimeout(() => {
        this.#sleeps.delete(id);
        resolve();
      }, ms);
      this.#sleeps.set(id, resolve);
    });
  }

  /** Release everything held or queued now and wait until all deliveries (retries too) end. */
  async flush(): Promise<void> {
    for (;;) {
      for (const key of [...this.#held.keys()]) this.#releaseHeld(key);
      if (this.#queue.length > 0) this.#releaseBatch();
      if (this.#pending.size === 0) return;
      await Promise.allSettled([...this.#pending]);
    }
  }

  /** Abort in-flight requests, cut waits short, drop held/queued events, wait for settling. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    for (const h of this.#held.values()) clearTimeout(h.timer);
    this.#held.clear();
    if (this.#batchTimer !== undefined) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#queue = [];
    for (const ac of this.#aborts) ac.abort();
    for (const [id, resolve] of this.#sleeps) {
      clearTimeout(id);
      resolve();
    }
    this.#sleeps.clear();
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    this.#closing = false;
  }

  /** Forget the log and restart the reorder PRNG (after shutdown()). */
  clear(): void {
    this.deliveries = [];
    this.#random = seededRandom(this.#ctx.config.seed);
  }
}

/** Fold a later event into a held one: union of authors/properties/blocks, latest time. */
export function mergeEnvelopes(into: Envelope, later: Envelope): void {
  into.timestamp = later.timestamp;
  for (const a of later.authors) {
    if (!into.authors.some((b) => b.id === a.id)) into.authors.push(a);
  }
  const union = (key: string, idOf: (v: unknown) => string) => {
    const a = into.data[key];
    const b = later.data[key];
    if (!Array.isArray(b)) return;
    const list = Array.isArray(a) ? [...a] : [];
    for (const v of b) if (!list.some((x) => idOf(x) === idOf(v))) list.push(v);
    into.data[key] = list;
  };
  union("updated_properties", (v) => String(v));
  union("updated_blocks", (v) => String((v as { id?: string }).id));
  if (later.data.parent !== undefined) into.data.parent = later.data.parent;
  const acc = later.accessible_by;
  if (Array.isArray(acc) && Array.isArray(into.accessible_by)) {
    for (const a of acc as Array<{ id: string }>) {
      const list = into.accessible_by as Array<{ id: string }>;
      if (!list.some((b) => b.id === a.id)) list.push(a);
    }
  }
}

// Webhook delivery: picks the subscriptions that receive a change, signs and POSTs the envelope,
// retries failed attempts with exponential backoff, disables failing subscriptions, and keeps a
// log of every delivery (pending | delivered | failed | dropped) for tests.
//
// Invariants:
// - The body of a delivery is rendered once, when the change happens, and never re-serialised:
//   retries and redeliveries send the same bytes.
// - Only ACTIVE subscriptions are picked, and every attempt re-checks that the subscription still
//   exists and is active (a disabled or deleted subscription receives nothing more).
// - Messages of one dispatch reach one subscription in order: a message's first attempt starts
//   after the previous message's first attempt got its answer. Retries run independently.
// - Success = any 2xx. 3xx/4xx/5xx, network errors and timeouts are failed attempts.

import type { Ctx } from "./context.ts";
import { renderInviteePayload } from "./resources.ts";
import { signatureHeader } from "./signature.ts";
import type { Invitee, Subscription } from "./store.ts";
import { toIso, unixSeconds } from "./util.ts";

export interface DeliveryAttempt {
  at: string;
  status?: number;
  error?: string;
  /** The Calendly-Webhook-Signature header this attempt carried. */
  signature: string;
}

export interface Delivery {
  index: number;
  subscription: string;
  subscription_uuid: string;
  event: string;
  /** The invitee the message is about (payload.uri). */
  invitee: string | null;
  callback_url: string;
  /** The raw JSON body, exactly as sent. */
  body: string;
  headers: Record<string, string>;
  outcome: "pending" | "delivered" | "failed" | "dropped";
  attempts: DeliveryAttempt[];
  created_at: string;
  finished_at: string | null;
  redelivery_of: number | null;
  /** Why a delivery stopped early (subscription disabled or deleted, emulator closing). */
  note?: string;
}

export interface DispatchItem {
  name: string;
  invitee: Invitee;
}

export interface Dispatched {
  deliveries: Delivery[];
  /** Settles when every delivery of the dispatch (retries included) has finished. */
  done: Promise<void>;
}

const SIGNATURE = "calendly-webhook-signature";

export class Deliveries {
  log: Delivery[] = [];
  #ctx: Ctx;
  #pending = new Set<Promise<unknown>>();
  #timers = new Map<number, () => void>();
  #aborts = new Set<AbortController>();
  #closing = false;

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }

  /** Does this subscription receive `name` for events hosted by this user? */
  #covers(sub: Subscription, name: string, hostUuid: string): boolean {
    if (!sub.events.includes(name)) return false;
    const host = this.#ctx.store.users.get(hostUuid)!;
    if (sub.scope === "user") return sub.userUri === host.uri;
    if (sub.scope === "organization") {
      return sub.orgUri === this.#ctx.store.orgs.get(host.orgUuid)!.uri;
    }
    return false; // groups are not modelled
  }

  /** Disable a subscription whose failure streak is older than the configured limit. */
  checkHealth(sub: Subscription): void {
    const hours = this.#ctx.config.disableAfterFailingHours;
    const now = this.#ctx.clock.now();
    if (
      sub.state === "active" && sub.retryStartedMs !== null && hours > 0 &&
      now - sub.retryStartedMs >= hours * 3_600_000
    ) {
      this.#disable(sub);
    }
  }

  #disable(sub: Subscription): void {
    sub.state = "disabled";
    sub.updatedMs = Math.max(this.#ctx.clock.now(), sub.updatedMs + 1);
  }

  #key(sub: Subscription): string {
    return sub.signingKey ?? this.#ctx.config.appSigningKey;
  }

  #t(): number {
    return unixSeconds(this.#ctx.clock.now()) + Math.trunc(this.#ctx.config.signatureSkewSeconds);
  }

  #record(sub: Subscription, name: string, invitee: string | null, body: string): Delivery {
    const d: Delivery = {
      index: this.log.length,
      subscription: sub.uri,
      subscription_uuid: sub.uuid,
      event: name,
      invitee,
      callback_url: sub.callbackUrl,
      body,
      headers: { "content-type": "application/json" },
      outcome: "pending",
      attempts: [],
      created_at: toIso(this.#ctx.clock.now()),
      finished_at: null,
      redelivery_of: null,
    };
    this.log.push(d);
    return d;
  }

  /**
   * Queue one message per item for every active subscription that covers it. Payloads are
   * rendered synchronously, before anything else can change the store.
   */
  async dispatch(items: DispatchItem[]): Promise<Dispatched> {
    const { store, clock } = this.#ctx;
    const createdAt = toIso(clock.now());
    const rendered = items.map((it) => ({
      name: it.name,
      invitee: it.invitee,
      hostUuid: store.events.get(it.invitee.eventUuid)!.hostUuid,
      payload: renderInviteePayload(store, it.invitee),
    }));
    const plans: { sub: Subscription; deliveries: Delivery[] }[] = [];
    for (const sub of store.subscriptions.values()) {
      this.checkHealth(sub);
      if (sub.state !== "active") continue;
      const mine = rendered.filter((r) => this.#covers(sub, r.name, r.hostUuid));
      if (mine.length === 0) continue;
      plans.push({
        sub,
        deliveries: mine.map((r) => {
          const body = JSON.stringify({
            created_at: createdAt,
            created_by: sub.creatorUri,
            event: r.name,
            payload: r.payload,
          });
          const d = this.#record(sub, r.name, r.invitee.uri, body);
          if (this.#ctx.faults.shouldDrop()) {
            d.outcome = "dropped";
            d.finished_at = d.created_at;
          }
          return d;
        }),
      });
    }
    const all = plans.flatMap((p) => p.deliveries);
    const t = this.#t();
    await Promise.all(plans.map(async ({ sub, deliveries }) => {
      for (const d of deliveries) {
        d.headers[SIGNATURE] = await signatureHeader(this.#key(sub), t, d.body);
      }
    }));
    const runs: Promise<void>[] = [];
    for (const { deliveries } of plans) {
      let gate: Promise<void> = Promise.resolve();
      for (const d of deliveries) {
        if (d.outcome === "dropped") continue;
        const firstAnswered = Promise.withResolvers<void>();
        runs.push(this.#track(this.#run(d, gate, firstAnswered.resolve)));
        gate = firstAnswered.promise;
      }
    }
    return { deliveries: all, done: Promise.all(runs).then(() => {}) };
  }

  /**
   * Send an earlier delivery's body again, `times` copies, all at once (`concurrent`) or one
   * after another. The signature header is the original one unless `resign` (new t, same body).
   */
  async redeliver(
    index: number,
    opts: { times: number; concurrent: boolean; resign: boolean },
  ): Promise<Dispatched | string> {
    const orig = this.log[index];
    if (!orig) return "unknown delivery";
    const sub = this.#ctx.store.subscriptions.get(orig.subscription_uuid);
    if (!sub) return "the subscription no longer exists";
    this.checkHealth(sub);
    if (sub.state !== "active") return "the subscription is disabled";
    const copies: Delivery[] = [];
    for (let i = 0; i < opts.times; i++) {
      const d = this.#record(sub, orig.event, orig.invitee, orig.body);
      d.redelivery_of = index;
      d.headers[SIGNATURE] = opts.resign
        ? await signatureHeader(this.#key(sub), this.#t(), orig.body)
        : orig.headers[SIGNATURE];
      copies.push(d);
    }
    const runs: Promise<void>[] = [];
    let previous: Promise<void> = Promise.resolve();
    for (const d of copies) {
      const run = this.#track(
        this.#run(d, opts.concurrent ? Promise.resolve() : previous, () => {}),
      );
      runs.push(run);
      previous = run;
    }
    return { deliveries: copies, done: Promise.all(runs).then(() => {}) };
  }

  async #run(d: Delivery, gate: Promise<void>, firstAnswered: () => void): Promise<void> {
    const finish = (outcome: Delivery["outcome"], note?: string) => {
      d.outcome = outcome;
      d.finished_at = toIso(this.#ctx.clock.now());
      if (note) d.note = note;
    };
    try {
      await gate;
      const cfg = this.#ctx.config;
      const attempts = Math.max(1, Math.floor(cfg.retryAttempts));
      for (let n = 1; n <= attempts; n++) {
        const sub = this.#ctx.store.subscriptions.get(d.subscription_uuid);
        if (this.#closing) return finish("failed", "emulator closing");
        if (!sub) return finish("failed", "subscription deleted");
        this.checkHealth(sub);
        if (sub.state !== "active") return finish("failed", "subscription disabled");
        const signature = n === 1 || !cfg.resignRetries
          ? d.headers[SIGNATURE]
          : await signatureHeader(this.#key(sub), this.#t(), d.body);
        const attempt = await this.#post(d, signature);
        d.attempts.push(attempt);
        firstAnswered();
        if (attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300) {
          sub.consecutiveFailures = 0;
          sub.retryStartedMs = null;
          return finish("delivered");
        }
        sub.retryStartedMs ??= this.#ctx.clock.now();
        this.checkHealth(sub);
        if (n < attempts) await this.#sleep(cfg.retryBaseMs * 2 ** (n - 1));
      }
      finish("failed");
      const sub = this.#ctx.store.subscriptions.get(d.subscription_uuid);
      if (sub) {
        sub.consecutiveFailures++;
        const limit = this.#ctx.config.disableAfterFailedDeliveries;
        if (sub.state === "active" && limit > 0 && sub.consecutiveFailures >= limit) {
          this.#disable(sub);
        }
      }
    } finally {
      firstAnswered();
    }
  }

  async #post(d: Delivery, signature: string): Promise<DeliveryAttempt> {
    const ac = new AbortController();
    this.#aborts.add(ac);
    const timer = setTimeout(() => ac.abort(), this.#ctx.config.deliveryTimeoutMs);
    const at = toIso(this.#ctx.clock.now());
    try {
      const res = await fetch(d.callback_url, {
        method: "POST",
        // No keep-alive: a pooled idle connection would stall the receiver's graceful shutdown.
        headers: {
          ...d.headers,
          [SIGNATURE]: signature,
          "user-agent": "Calendly",
          connection: "close",
        },
        body: d.body,
        signal: ac.signal,
        redirect: "manual",
      });
      await res.body?.cancel();
      return { at, status: res.status, signature };
    } catch (e) {
      const error = ac.signal.aborted && !this.#closing ? "timeout" : String(e);
      return { at, error, signature };
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(ac);
    }
  }

  #track(p: Promise<void>): Promise<void> {
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
    return p;
  }

  /** A backoff wait that shutdown() can cut short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const id = setTimeout(() => {
        this.#timers.delete(id);
        resolve();
      }, ms);
      this.#timers.set(id, resolve);
    });
  }

  /** Wait until every queued delivery (retries included) has finished. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Abort in-flight requests, cut backoff waits short and wait for everything to settle. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    for (const ac of this.#aborts) ac.abort();
    for (const [id, resolve] of this.#timers) {
      clearTimeout(id);
      resolve();
    }
    this.#timers.clear();
    await this.flush();
    this.#closing = false;
  }

  clear(): void {
    this.log = [];
  }
}

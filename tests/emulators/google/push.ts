// events.watch / channels.stop and asynchronous push delivery, following Google's push guide:
// header-only POSTs, message number 1 for "sync" then increasing with gaps, "exists" for every
// change (deletes included), success = 200/201/202/204/102, exponential-backoff retries only on
// 500/502/503/504, everything else (other statuses, network errors) drops the message.
//
// Channels are never forgotten until reset: a record keeps when it was created, stopped and
// when it expires (emulator clock), which is what the coverage report is computed from. A
// channel is live on [created, min(stopped, expiration)); stopped or expired channels receive
// nothing, and deleting a calendar stops its channels.

import type { Ctx } from "./context.ts";
import { googleError } from "./errors.ts";
import type { Calendar } from "./store.ts";
import { httpDate, toIso } from "./time.ts";
import { seededRandom } from "../shared/random.ts";
import { empty, isRecord, json } from "./util.ts";

export interface Channel {
  id: string;
  resourceId: string;
  resourceUri: string;
  calendarId: string;
  owner: string;
  address: string;
  token?: string;
  expirationMs: number;
  createdMs: number;
  stoppedMs?: number;
  /** Why it stopped: the client's channels.stop or the deletion of its calendar. */
  stopReason?: "channels.stop" | "calendar.deleted";
  lastMessageNumber: number;
}

/** Emulator-clock interval [from, to) with the channels live in it. */
export interface CoverageInterval {
  from: number;
  to: number;
  fromIso: string;
  toIso: string;
  channels: string[];
}

export interface CoverageGap {
  from: number;
  to: number;
  fromIso: string;
  toIso: string;
  ms: number;
}

export interface CalendarCoverage {
  calendarId: string;
  from: number;
  to: number;
  intervals: CoverageInterval[];
  gaps: CoverageGap[];
  coveredMs: number;
  gapMs: number;
  /** At least one channel was live at every instant of [from, to). */
  covered: boolean;
}

export type ChannelStatus = "active" | "stopped" | "expired";

export interface DeliveryAttempt {
  at: string;
  status?: number;
  error?: string;
}

export interface Delivery {
  index: number;
  channelId: string;
  messageNumber: number;
  state: "sync" | "exists";
  address: string;
  headers: Record<string, string>;
  outcome: "pending" | "delivered" | "failed" | "dropped" | "aborted";
  attempts: DeliveryAttempt[];
  createdAt: string;
  finishedAt?: string;
}

const SUCCESS = new Set([200, 201, 202, 204, 102]);
const RETRYABLE = new Set([500, 502, 503, 504]);
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

export class Push {
  channels = new Map<string, Channel>();
  deliveries: Delivery[] = [];
  #ctx: Ctx;
  #random: () => number;
  #pending = new Set<Promise<unknown>>();
  #timers = new Map<number, () => void>();
  #aborts = new Set<AbortController>();
  #closing = false;

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
    this.#random = seededRandom(ctx.config.seed);
  }

  status(ch: Channel): ChannelStatus {
    if (ch.stoppedMs !== undefined) return "stopped";
    return ch.expirationMs <= this.#ctx.clock.now() ? "expired" : "active";
  }

  /** Control-API record; times are emulator-clock ms (with *Iso twins for reading). */
  describe(ch: Channel) {
    return {
      id: ch.id,
      resourceId: ch.resourceId,
      resourceUri: ch.resourceUri,
      calendarId: ch.calendarId,
      owner: ch.owner,
      address: ch.address,
      token: ch.token ?? null,
      status: this.status(ch),
      created: ch.createdMs,
      stopped: ch.stoppedMs ?? null,
      expiration: ch.expirationMs,
      createdIso: toIso(ch.createdMs),
      stoppedIso: ch.stoppedMs === undefined ? null : toIso(ch.stoppedMs),
      expirationIso: toIso(ch.expirationMs),
      stopReason: ch.stopReason ?? null,
      lastMessageNumber: ch.lastMessageNumber,
    };
  }

  /** Stop every live channel of a calendar (its calendar was deleted). */
  stopForCalendar(calendarId: string, nowMs: number, reason: Channel["stopReason"]): void {
    for (const ch of this.channels.values()) {
      if (ch.calendarId === calendarId && ch.stoppedMs === undefined) {
        ch.stoppedMs = nowMs;
        ch.stopReason = reason;
      }
    }
  }

  /**
   * When each calendar had at least one live channel within [from, to) (emulator clock), and
   * the gaps. Intervals of overlapping or touching channels merge, so a renewal that opens the
   * new channel before (or at the instant) it stops the old one leaves no gap. A live channel
   * counts until its expiration. Default window: the calendar's first channel until now.
   */
  coverage(calendarIds: string[], from?: number, to?: number): CalendarCoverage[] {
    const now = this.#ctx.clock.now();
    return calendarIds.map((calendarId) => {
      const chans = [...this.channels.values()].filter((c) => c.calendarId === calendarId);
      const end = to ?? now;
      const start = from ?? Math.min(end, ...chans.map((c) => c.createdMs));
      const spans = chans
        .map((c) => ({
          from: Math.max(start, c.createdMs),
          to: Math.min(end, c.stoppedMs ?? Infinity, c.expirationMs),
          id: c.id,
        }))
        .filter((sp) => sp.to > sp.from)
        .sort((a, b) => a.from - b.from || a.to - b.to);
      const merged: { from: number; to: number; channels: string[] }[] = [];
      for (const sp of spans) {
        const last = merged[merged.length - 1];
        if (last && sp.from <= last.to) {
          last.to = Math.max(last.to, sp.to);
          last.channels.push(sp.id);
        } else merged.push({ from: sp.from, to: sp.to, channels: [sp.id] });
      }
      const gaps: CoverageGap[] = [];
      const gap = (a: number, b: number) => {
        if (b > a) gaps.push({ from: a, to: b, fromIso: toIso(a), toIso: toIso(b), ms: b - a });
      };
      let cursor = start;
      for (const iv of merged) {
        gap(cursor, iv.from);
        cursor = iv.to;
      }
      gap(cursor, end);
      const intervals = merged.map((iv) => ({
        ...iv,
        fromIso: toIso(iv.from),
        toIso: toIso(iv.to),
      }));
      const coveredMs = merged.reduce((n, iv) => n + iv.to - iv.from, 0);
      const gapMs = gaps.reduce((n, g) => n + g.ms, 0);
      return {
        calendarId,
        from: start,
        to: end,
        intervals,
        gaps,
        coveredMs,
        gapMs,
        covered: intervals.length > 0 && gaps.length === 0,
      };
    });
  }

  /** Queue an "exists" message on every active channel of the calendar (fire and forget). */
  notifyCalendar(calendarId: string): void {
    for (const ch of this.channels.values()) {
      if (ch.calendarId === calendarId && this.status(ch) === "active") this.send(ch, "exists");
    }
  }

  /** Assign the next message number, log the delivery and run it in the background. */
  send(ch: Channel, state: "sync" | "exists"): Promise<Delivery> {
    const cfg = this.#ctx.config;
    if (state === "sync") ch.lastMessageNumber = 1;
    else {
      const span = Math.max(0, cfg.messageNumberStepMax - cfg.messageNumberStepMin);
      const step = cfg.messageNumberStepMin + Math.floor(this.#random() * (span + 1));
      ch.lastMessageNumber += Math.max(1, step);
    }
    const headers: Record<string, string> = {
      "user-agent": "APIs-Google",
      "content-type": "application/json; utf-8",
      "x-goog-channel-id": ch.id,
      "x-goog-message-number": String(ch.lastMessageNumber),
      "x-goog-resource-id": ch.resourceId,
      "x-goog-resource-state": state,
      "x-goog-resource-uri": ch.resourceUri,
    };
    if (ch.token !== undefined) headers["x-goog-channel-token"] = ch.token;
    if (Number.isFinite(ch.expirationMs)) {
      headers["x-goog-channel-expiration"] = httpDate(ch.expirationMs);
    }
    const delivery: Delivery = {
      index: this.deliveries.length,
      channelId: ch.id,
      messageNumber: ch.lastMessageNumber,
      state,
      address: ch.address,
      headers,
      outcome: "pending",
      attempts: [],
      createdAt: toIso(this.#ctx.clock.now()),
    };
    this.deliveries.push(delivery);
    const p = this.#deliver(delivery).then(() => delivery);
    this.#track(p);
    return p;
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
  }

  async #deliver(d: Delivery): Promise<void> {
    const cfg = this.#ctx.config;
    const finish = (outcome: Delivery["outcome"]) => {
      d.outcome = outcome;
      d.finishedAt = toIso(this.#ctx.clock.now());
    };
    if (this.#ctx.faults.shouldDrop()) return finish("dropped");
    for (let attempt = 1; attempt <= Math.max(1, cfg.retryAttempts); attempt++) {
      if (this.#closing) return finish("aborted");
      const ac = new AbortController();
      this.#aborts.add(ac);
      const timer = setTimeout(() => ac.abort(), cfg.deliveryTimeoutMs);
      let status: number | undefined;
      try {
        // Empty string body => "Content-Length: 0", like Google's header-only messages.
        const res = await fetch(d.address, {
          method: "POST",
          headers: d.headers,
          body: "",
          signal: ac.signal,
          redirect: "manual",
        });
        status = res.status;
        await res.body?.cancel();
        d.attempts.push({ at: toIso(this.#ctx.clock.now()), status });
      } catch (e) {
        d.attempts.push({ at: toIso(this.#ctx.clock.now()), error: String(e) });
      } finally {
        clearTimeout(timer);
        this.#aborts.delete(ac);
      }
      if (status === undefined) return finish(this.#closing ? "aborted" : "failed");
      if (SUCCESS.has(status)) return finish("delivered");
      if (!RETRYABLE.has(status) || attempt >= cfg.retryAttempts) return finish("failed");
      await this.#sleep(cfg.retryBaseMs * 2 ** (attempt - 1));
    }
    finish("failed");
  }

  /** A timer that shutdown() can cut short, so closing never leaks timers. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const id = setTimeout(() => {
        this.#timers.delete(id);
        resolve();
      }, ms);
      this.#timers.set(id, resolve);
    });
  }

  /** Run fn after a short delay (used for the "after" sync timing); tracked for shutdown. */
  later(fn: () => Promise<unknown>, ms = 10): void {
    this.#track(this.#sleep(ms).then(() => (this.#closing ? undefined : fn())));
  }

  /** Wait until every queued delivery (including retries) has finished. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Abort in-flight deliveries, cut retry waits short and wait for everything to settle. */
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

  /** Drop all channels and logs (after shutdown()). */
  clear(): void {
    this.channels.clear();
    this.deliveries = [];
    this.#random = seededRandom(this.#ctx.config.seed);
  }

  // ---- API handlers -------------------------------------------------------------------------

  /** POST /calendar/v3/calendars/{calendarId}/events/watch */
  async watch(cal: Calendar, email: string, body: unknown): Promise<Response> {
    const cfg = this.#ctx.config;
    const now = this.#ctx.clock.now();
    if (!isRecord(body)) return googleError(400, "required", { message: "Required" });
    const { id, type, address, token } = body;
    if (typeof id !== "string" || id === "") {
      return googleError(400, "required", { message: "Required", location: "id" });
    }
    if (id.length > 64) {
      return googleError(400, "invalid", { message: "Invalid channel id (max 64 characters)." });
    }
    if (this.channels.has(id)) return googleError(400, "channelIdNotUnique");
    if (typeof type !== "string" || !["web_hook", "webhook"].includes(type.toLowerCase())) {
      return googleError(400, "invalid", { message: `Unsupported channel type: ${String(type)}` });
    }
    if (typeof address !== "string" || !URL.canParse(address)) {
      return googleError(400, "invalid", { message: "Invalid channel address." });
    }
    const url = new URL(address);
    const httpAllowed = cfg.httpWebhooks === "any" ||
      (cfg.httpWebhooks === "loopback" && LOOPBACK.has(url.hostname));
    if (url.protocol !== "https:" && !(url.protocol === "http:" && httpAllowed)) {
      return googleError(400, "push.webhookUrlNotHttps", {
        message: `WebHook callback must be HTTPS: ${address}`,
      });
    }
    if (token !== undefined && (typeof token !== "string" || token.length > 256)) {
      return googleError(400, "invalid", {
        message: "Invalid channel token (max 256 characters).",
      });
    }
    let ttl = 604800;
    const params = isRecord(body.params) ? body.params : {};
    if (params.ttl !== undefined) {
      ttl = Number(params.ttl);
      if (!Number.isFinite(ttl) || ttl < 0) {
        return googleError(400, "invalid", { message: "Invalid value for: params.ttl" });
      }
    }
    // "The more restrictive value is used": requested ttl / expiration vs the emulator cap.
    let expirationMs = now + Math.min(ttl, cfg.maxChannelTtlSeconds) * 1000;
    const requested = body.expiration === undefined ? NaN : Number(body.expiration);
    if (Number.isFinite(requested) && requested > now) {
      expirationMs = Math.min(expirationMs, requested);
    }
    expirationMs = Math.floor(expirationMs);
    const ch: Channel = {
      id,
      resourceId: cal.resourceId,
      resourceUri: `${this.#ctx.baseUrl}/calendar/v3/calendars/${
        encodeURIComponent(cal.id)
      }/events?alt=json`,
      calendarId: cal.id,
      owner: email,
      address,
      token: token as string | undefined,
      expirationMs,
      createdMs: now,
      lastMessageNumber: 0,
    };
    this.channels.set(id, ch);
    // Google may deliver the sync message before the watch response arrives (documented race).
    if (cfg.syncMessageTiming === "before") await this.send(ch, "sync");
    else this.later(() => this.send(ch, "sync"));
    const res: Record<string, string> = {
      kind: "api#channel",
      id,
      resourceId: ch.resourceId,
      resourceUri: ch.resourceUri,
    };
    if (ch.token !== undefined) res.token = ch.token;
    res.expiration = String(expirationMs);
    return json(res);
  }

  /** POST /calendar/v3/channels/stop */
  stop(email: string, body: unknown): Response {
    if (!isRecord(body) || typeof body.id !== "string" || typeof body.resourceId !== "string") {
      return googleError(400, "required", { message: "Required" });
    }
    const ch = this.channels.get(body.id);
    if (
      !ch || ch.resourceId !== body.resourceId || ch.owner !== email || ch.stoppedMs !== undefined
    ) {
      return googleError(404, "notFound", {
        message: `Channel '${body.id}' not found for project 'emulator'`,
      });
    }
    ch.stoppedMs = this.#ctx.clock.now();
    ch.stopReason = "channels.stop";
    return empty(204);
  }
}

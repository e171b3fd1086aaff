// Test control API under /__emulator/ (JSON in, JSON out). Not part of Google's surface:
// it seeds state, injects faults and exposes what happened (counters, channels and their
// coverage over time, deliveries, revoked tokens, the calendars' true contents).
//
// Invariant: reading through the control API never changes Google-visible state (no seq bumps,
// no notifications, no counters); only the explicit mutating routes do.

import type { Ctx } from "./context.ts";
import { commit, currentEvents, prepareInsert } from "./events.ts";
import { faultControl } from "../shared/faults.ts";
import { parseFaultRule } from "./faults.ts";
import { expireAllAccessTokens, issueRefreshToken, revokeRefreshToken } from "./oauth.ts";
import type { ChannelStatus } from "./push.ts";
import type { RefreshToken, StoredEvent } from "./store.ts";
import { isValidTimeZone, toIso } from "./time.ts";
import { isRecord, json, newEventId, readJson } from "./util.ts";

export interface ControlHooks {
  /** Full reset (state, knobs, counters, channels, clock, config back to startup values). */
  reset(): Promise<void>;
  /** Apply a partial config (validated by the caller). */
  configure(patch: Record<string, unknown>): void;
}

const fail = (status: number, error: string) => json({ error }, status);

export async function control(
  ctx: Ctx,
  hooks: ControlHooks,
  req: Request,
  url: URL,
): Promise<Response> {
  const parts = url.pathname.replace(/^\/__emulator\/?/, "").split("/").filter(Boolean)
    .map(decodeURIComponent);
  const method = req.method;
  let body: Record<string, unknown> = {};
  if (method !== "GET" && method !== "DELETE") {
    try {
      const parsed = await readJson(req);
      if (parsed !== undefined && !isRecord(parsed)) return fail(400, "body must be an object");
      body = parsed ?? {};
    } catch {
      return fail(400, "malformed JSON");
    }
  }
  // Only calendars/{id}/..., channels/{id}/... (but not channels/coverage) and
  // GET refresh_tokens/{token} carry an id segment.
  const hasId = parts.length > 1 && (
    parts[0] === "calendars" ||
    (parts[0] === "channels" && !(parts[1] === "coverage" && parts.length === 2)) ||
    (parts[0] === "refresh_tokens" && method === "GET")
  );
  const route = `${method} /${parts.map((p, i) => (i === 1 && hasId ? ":id" : p)).join("/")}`;
  const id = parts[1];
  const { store, clock } = ctx;

  const faultRoute = faultControl(route, body, ctx.faults, parseFaultRule, { json, fail });
  if (faultRoute) return faultRoute;
  switch (route) {
    case "POST /reset":
      await hooks.reset();
      return json({ ok: true });

    case "GET /config":
      return json(ctx.config);
    case "POST /config":
    case "PATCH /config":
      hooks.configure(body);
      return json(ctx.config);

    case "GET /accounts":
      return json({
        accounts: [...store.accounts.values()].map((a) => ({
          email: a.email,
          calendarIds: a.calendarIds,
          deletedCalendarIds: [...store.deletedCalendars.values()]
            .filter((c) => c.owner === a.email).map((c) => c.id),
          refreshTokens: [...store.refreshTokens.values()]
            .filter((t) => t.email === a.email)
            .map((t) => describeRefreshToken(ctx, t)),
        })),
      });
    case "POST /accounts": {
      const email = body.email;
      if (typeof email !== "string" || !email.includes("@")) return fail(400, "email required");
      const tz = body.time_zone ?? body.timeZone ?? "UTC";
      if (typeof tz !== "string" || !isValidTimeZone(tz)) return fail(400, "invalid time_zone");
      const wanted = body.refresh_token;
      if (wanted !== undefined && typeof wanted !== "string") return fail(400, "bad refresh_token");
      const existing = wanted ? store.refreshTokens.get(wanted) : undefined;
      if (existing && existing.email !== email) return fail(409, "refresh_token in use");
      if (!store.accounts.has(email)) {
        store.accounts.set(email, { email, calendarIds: [] });
        store.createCalendar(
          email,
          email,
          typeof body.summary === "string" ? body.summary : email,
          tz,
          clock.now(),
        );
      }
      const rt = existing ?? issueRefreshToken(ctx, email, wanted);
      return json({ email, refresh_token: rt.token, calendar_id: email }, 201);
    }

    case "POST /auth_codes": {
      const { code, redirect_uri: redirectUri } = body;
      if (typeof code !== "string" || typeof redirectUri !== "string") {
        return fail(400, "code and redirect_uri required");
      }
      let rt = typeof body.refresh_token === "string"
        ? store.refreshTokens.get(body.refresh_token)
        : undefined;
      if (!rt && typeof body.email === "string") {
        if (!store.accounts.has(body.email)) return fail(404, "unknown account");
        rt = issueRefreshToken(ctx, body.email);
      }
      if (!rt) return fail(404, "unknown refresh_token (or give a known email)");
      store.authCodes.set(code, { code, refreshToken: rt.token, redirectUri, used: false });
      return json({ code, refresh_token: rt.token, email: rt.email }, 201);
    }

    case "POST /calendars": {
      const email = body.email;
      if (typeof email !== "string" || !store.accounts.has(email)) {
        return fail(404, "unknown account email");
      }
      const calId = typeof body.id === "string"
        ? body.id
        : `${newEventId().slice(0, 20)}@group.calendar.google.com`;
      if (store.calendarIdTaken(calId)) return fail(409, "calendar exists (or existed)");
      const tz = body.time_zone ?? body.timeZone ?? "UTC";
      if (typeof tz !== "string" || !isValidTimeZone(tz)) return fail(400, "invalid time_zone");
      const summary = typeof body.summary === "string" ? body.summary : calId;
      const cal = store.createCalendar(calId, email, summary, tz, clock.now());
      return json(describeCalendar(ctx, cal.id), 201);
    }
    case "GET /calendars/:id": {
      if (store.calendars.has(id)) return json(describeCalendar(ctx, id));
      const gone = store.deletedCalendars.get(id);
      return gone
        ? json({ error: "calendar deleted", deleted: gone.deletedMs, ...gone }, 404)
        : fail(404, "unknown calendar");
    }
    case "GET /calendars/:id/events": {
      const cal = store.calendars.get(id);
      return cal ? currentEvents(ctx, cal, url.searchParams) : fail(404, "unknown calendar");
    }
    case "POST /calendars/:id/seed":
      return seed(ctx, id, body);
    case "POST /calendars/:id/invalidate_sync_tokens": {
      const cal = store.calendars.get(id);
      if (!cal) return fail(404, "unknown calendar");
      cal.epoch++;
      cal.listCache.clear();
      return json({ calendarId: id, epoch: cal.epoch });
    }

    case "POST /refresh_tokens/revoke":
      if (typeof body.refresh_token !== "string") return fail(400, "refresh_token required");
      return revokeRefreshToken(ctx, body.refresh_token)
        ? json({ revoked: true })
        : fail(404, "unknown refresh_token");
    case "GET /refresh_tokens/:id": {
      const rt = store.refreshTokens.get(id);
      return rt ? json(describeRefreshToken(ctx, rt)) : fail(404, "unknown refresh_token");
    }
    case "POST /access_tokens/expire":
      return json({ expired: expireAllAccessTokens(ctx) });

    case "GET /faults":
      return json({ rules: ctx.faults.rules, fired: ctx.faults.fired });
    case "DELETE /faults":
      ctx.faults.rules = [];
      ctx.faults.fired = [];
      return json({ rules: [], fired: [] });

    case "GET /clock":
      return json(clock.describe());
    case "POST /clock": {
      const wrong = clock.move(body);
      return wrong ? fail(400, wrong) : json(clock.describe());
    }

    case "GET /counters":
      return json({
        counts: ctx.counters.snapshot(url.searchParams.get("calendarId") ?? undefined),
        max_in_flight: ctx.counters.maxInFlightSnapshot(),
      });
    case "POST /counters/reset":
    case "DELETE /counters":
      ctx.counters.reset();
      return json({ counts: {} });

    case "GET /channels": {
      const status = url.searchParams.get("status");
      if (status !== null && !["active", "stopped", "expired"].includes(status)) {
        return fail(400, "status must be active, stopped or expired");
      }
      const calendarId = url.searchParams.get("calendarId");
      const channels = [...ctx.push.channels.values()].filter((c) =>
        (status === null || ctx.push.status(c) === status as ChannelStatus) &&
        (calendarId === null || c.calendarId === calendarId)
      );
      return json({ channels: channels.map((c) => ctx.push.describe(c)) });
    }
    case "GET /channels/coverage": {
      const sp = url.searchParams;
      const from = parseTime(sp.get("from"));
      const to = parseTime(sp.get("to"));
      if (Number.isNaN(from) || Number.isNaN(to)) return fail(400, "from/to: ms or ISO date");
      if (from !== undefined && to !== undefined && to < from) return fail(400, "to < from");
      const calendarId = sp.get("calendarId");
      const ids = calendarId !== null
        ? [calendarId]
        : [...new Set([...ctx.push.channels.values()].map((c) => c.calendarId))].sort();
      const calendars = ctx.push.coverage(ids, from, to);
      return json({ now: clock.now(), calendars });
    }
    case "POST /channels/:id/notify": {
      const ch = ctx.push.channels.get(id);
      if (!ch) return fail(404, "unknown channel");
      if (ctx.push.status(ch) !== "active" && body.force !== true) {
        return fail(409, `channel is ${ctx.push.status(ch)} (pass force: true to send anyway)`);
      }
      const state = body.state === "sync" ? "sync" : "exists";
      const delivery = ctx.push.send(ch, state);
      return json(body.wait === false ? { queued: true } : await delivery);
    }

    case "GET /deliveries": {
      const channelId = url.searchParams.get("channelId");
      return json({
        deliveries: ctx.push.deliveries.filter((d) => !channelId || d.channelId === channelId),
      });
    }
    case "POST /deliveries/flush":
      await ctx.push.flush();
      return json({ deliveries: ctx.push.deliveries.length });
    case "DELETE /deliveries":
      ctx.push.deliveries = [];
      return json({ deliveries: 0 });
  }
  return fail(404, `unknown control route ${method} ${url.pathname}`);
}

/** undefined = absent, NaN = unparsable; numbers are ms, anything else an ISO date. */
function parseTime(v: string | null): number | undefined {
  if (v === null || v === "") return undefined;
  return /^\d+$/.test(v) ? Number(v) : Date.parse(v);
}

function describeRefreshToken(ctx: Ctx, t: RefreshToken) {
  const now = ctx.clock.now();
  const live = [...ctx.store.accessTokens.values()]
    .filter((at) => at.refreshToken === t.token && at.expiresAtMs > now).length;
  return {
    refresh_token: t.token,
    email: t.email,
    revoked: t.revoked,
    revokedAt: t.revokedMs ?? null,
    revokedVia: t.revokedVia ?? null,
    liveAccessTokens: live,
  };
}

function describeCalendar(ctx: Ctx, id: string) {
  const cal = ctx.store.calendars.get(id)!;
  return {
    id: cal.id,
    summary: cal.summary,
    description: cal.description ?? null,
    timeZone: cal.timeZone,
    owner: cal.owner,
    primary: cal.id === cal.owner,
    etag: cal.etag,
    resourceId: cal.resourceId,
    seq: cal.seq,
    epoch: cal.epoch,
    updated: toIso(cal.updatedMs),
    storedEvents: cal.events.size,
    writesRejected: cal.writesRejected,
  };
}

/**
 * Bulk insert without push notifications: one change-seq bump for the whole batch, so sync
 * tokens taken before the seed still see the seeded events as changes.
 */
function seed(ctx: Ctx, calId: string, body: Record<string, unknown>): Response {
  const cal = ctx.store.calendars.get(calId);
  if (!cal) return fail(404, "unknown calendar");
  const inputs: unknown[] = [];
  if (Array.isArray(body.events)) {
    inputs.push(...body.events);
  } else {
    const count = Number(body.count ?? 0);
    if (!Number.isInteger(count) || count < 0 || count > 200_000) return fail(400, "bad count");
    const startMs = body.start === undefined ? ctx.clock.now() : Date.parse(String(body.start));
    if (!Number.isFinite(startMs)) return fail(400, "bad start");
    const durMs = Number(body.durationMinutes ?? 30) * 60_000;
    const spacingMs = Number(body.spacingMinutes ?? 60) * 60_000;
    const prefix = typeof body.prefix === "string" ? body.prefix : "Seeded event";
    const allDay = body.allDay === true;
    for (let i = 0; i < count; i++) {
      const s = startMs + i * spacingMs;
      const ev: Record<string, unknown> = {
        summary: `${prefix} ${i}`,
        start: allDay ? { date: toIso(s).slice(0, 10) } : { dateTime: toIso(s) },
        end: allDay
          ? { date: toIso(s + Math.max(durMs, 86_400_000)).slice(0, 10) }
          : { dateTime: toIso(s + durMs) },
      };
      for (const k of ["transparency", "status", "eventType", "attendees", "extendedProperties"]) {
        if (body[k] !== undefined) ev[k] = body[k];
      }
      inputs.push(ev);
    }
  }
  const prepared: StoredEvent[] = [];
  const ids = new Set<string>();
  for (const [i, input] of inputs.entries()) {
    const ev = prepareInsert(ctx, cal, input);
    if (ev instanceof Response) return fail(400, `event ${i} rejected (status ${ev.status})`);
    if (ids.has(ev.resource.id)) return fail(409, `duplicate id ${ev.resource.id}`);
    ids.add(ev.resource.id);
    prepared.push(ev);
  }
  if (prepared.length) commit(ctx, cal, prepared, false);
  const result: Record<string, unknown> = { inserted: prepared.length, seq: cal.seq };
  if (body.returnIds !== false) result.ids = prepared.map((e) => e.resource.id);
  return json(result, 201);
}

// Calendly's scheduled events as mirror items: a meeting is busy while it is active. A group
// event stays active while any invitee is; it is canceled when Calendly cancels the scheduled
// event or no active invitee is left. Calendly's own fields (URI, location, invitee counts,
// cancellation) are kept in `details`; `synced_via_webhook` marks meetings a delivery brought.
import type { MirrorItem } from "../../sync/types.ts";
import type { CalendlyEvent } from "./client.ts";

/** Calendly timestamps carry microseconds; the mirror keeps ISO milliseconds. */
export function isoInstant(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${value}`);
  return new Date(ms).toISOString();
}

/** Whether the meeting no longer blocks the host's time. */
export function meetingCanceled(event: CalendlyEvent): boolean {
  return event.status === "canceled" || event.invitees_counter?.active === 0;
}

export function meetingItem(event: CalendlyEvent, via: "sync" | "webhook"): MirrorItem {
  const canceled = meetingCanceled(event);
  return {
    external_id: event.uri,
    summary: event.name ?? null,
    starts_at: isoInstant(event.start_time),
    ends_at: isoInstant(event.end_time),
    all_day: false,
    status: canceled ? "cancelled" : "confirmed",
    is_busy: !canceled,
    is_tentative: false,
    app_tag: null,
    etag: event.updated_at,
    external_updated_at: isoInstant(event.updated_at),
    details: {
      uri: event.uri,
      location: event.location ?? null,
      event_type: event.event_type ?? null,
      invitees_counter: event.invitees_counter ?? null,
      canceled_at: canceled
        ? (event.cancellation?.created_at ? isoInstant(event.cancellation.created_at) : null)
        : null,
      cancel_reason: canceled ? event.cancellation?.reason ?? null : null,
      ...(via === "webhook" ? { synced_via_webhook: true } : {}),
    },
  };
}

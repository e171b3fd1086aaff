// Receives Calendly's webhook deliveries (invitee.created / invitee.canceled). verify_jwt =
// false: Calendly sends no Supabase JWT; the signature over the raw body authenticates each
// delivery. Answers 2xx in milliseconds (one database call applies and deduplicates the
// delivery); re-planning the user's sessions runs after the answer.
import { handle, json, requireMethod } from "../_shared/http/handler.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { planAfterBusyChange, services } from "../_shared/services.ts";
import { receiveCalendlyDelivery } from "../_shared/providers/calendly/webhook.ts";

Deno.serve(handle("calendly-webhook", async (request) => {
  requireMethod(request, "POST");
  const s = services();
  const outcome = await receiveCalendlyDelivery(s, request);
  if (outcome.status === "applied" && outcome.busyChanged) {
    runInBackground("calendly-webhook", () => planAfterBusyChange(s, outcome.userId));
  }
  return json(outcome.status === "applied" ? { status: "applied" } : outcome);
}));

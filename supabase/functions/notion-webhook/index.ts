// Notion's integration webhooks. verify_jwt = false: Notion sends no Supabase JWT.
//   POST   Notion: the unsigned verification POST ({"verification_token"}) is stored sealed and
//          answered 200 {status: "verification_stored"}; events must carry a valid
//          X-Notion-Signature (else 401, nothing written) and are answered 200 at once
//          ({status: "marked" | "duplicate" | "unknown_account"}); the marked data sources are
//          synced after the answer.
//   GET    the operator, with the service role key: the verification tokens not read yet,
//          {tokens: [{id, verification_token, received_at, times_received}]} — each is shown
//          once (then it verifies deliveries); 404 no_unread_token when there is none.
//   DELETE the operator, with the service role key, ?id=<token id>: the token no longer
//          verifies deliveries (a subscription deleted in Notion).
import { z } from "zod";
import { authenticateCaller } from "../_shared/auth/caller.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { handle, HttpError, json, requireMethod } from "../_shared/http/handler.ts";
import { services, syncTarget } from "../_shared/services.ts";
import {
  readVerificationTokens,
  receiveNotionDelivery,
  revokeVerificationToken,
} from "../_shared/providers/notion/webhook.ts";

Deno.serve(handle("notion-webhook", async (request) => {
  requireMethod(request, "POST", "GET", "DELETE");
  const s = services();
  if (request.method !== "POST") {
    await authenticateCaller(request, s.config, ["service"]);
    if (request.method === "DELETE") {
      const id = z.uuid().safeParse(new URL(request.url).searchParams.get("id"));
      if (!id.success) throw new HttpError(400, "invalid_request", "Send ?id=<token id>.");
      return json({ revoked: await revokeVerificationToken(s, id.data) });
    }
    const tokens = await readVerificationTokens(s);
    if (tokens.length === 0) {
      throw new HttpError(404, "no_unread_token", "No verification token has arrived unread.");
    }
    return json({ tokens });
  }
  const outcome = await receiveNotionDelivery(s, request);
  if (outcome.status === "marked") {
    const idle = outcome.targets.filter((target) => !target.running);
    if (idle.length > 0) {
      runInBackground(
        "notion-webhook",
        () =>
          Promise.all(
            idle.map(({ connectionId, calendarId }) => syncTarget(s, { connectionId, calendarId })),
          ),
      );
    }
    return json({ status: "marked", data_sources: outcome.targets.length });
  }
  return json({ status: outcome.status });
}));

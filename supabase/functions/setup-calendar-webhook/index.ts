// Connects a user's Google Calendar after OAuth: stores the refresh token (encrypted), opens a
// push channel and runs the initial full sync. Called by the app with the signed-in user's JWT,
// or by a server with the service role key and a user_id. Calling it again reuses the channel.
import { z } from "zod";
import { functionEnv } from "../_shared/env.ts";
import {
  handle,
  HttpError,
  json,
  parseJsonBody,
  requireMethod,
} from "../_shared/http/responses.ts";
import { authenticateCaller } from "../_shared/security/caller.ts";
import { createServiceClient } from "../_shared/db/clients.ts";
import { connectGoogleCalendar } from "../_shared/calendar_sync/google_connect.ts";
import { GoogleApiError } from "../_shared/google/mod.ts";

const common = {
  calendar_id: z.string().min(1).max(1024).default("primary"),
  user_id: z.uuid().optional(),
};
const SetupRequest = z.union([
  // The provider_refresh_token Supabase Auth hands the app after Google sign-in.
  z.strictObject({ refresh_token: z.string().min(1), ...common }),
  // Or an authorization code for the function to exchange.
  z.strictObject({ code: z.string().min(1), redirect_uri: z.url(), ...common }),
]);

Deno.serve(handle("setup-calendar-webhook", async (request) => {
  requireMethod(request, "POST");
  const env = functionEnv();
  const caller = await authenticateCaller(request, env, ["user", "service"]);
  const body = await parseJsonBody(request, SetupRequest);

  let userId: string;
  if (caller.kind === "user") {
    if (body.user_id && body.user_id !== caller.userId) {
      throw new HttpError(403, "forbidden", "A user can connect only their own calendar.");
    }
    userId = caller.userId;
  } else {
    if (!body.user_id) throw new HttpError(400, "user_id_required", "Send the user_id to connect.");
    userId = body.user_id;
  }

  try {
    const result = await connectGoogleCalendar(env, createServiceClient(env), {
      userId,
      calendarId: body.calendar_id,
      credential: "code" in body
        ? { code: body.code, redirectUri: body.redirect_uri }
        : { refreshToken: body.refresh_token },
    });
    return json(result);
  } catch (error) {
    if (error instanceof GoogleApiError) {
      throw new HttpError(502, "google_unavailable", `Google Calendar failed: ${error.message}`);
    }
    throw error;
  }
}));

// Connects a user's calendar provider after OAuth: stores the connection with its tokens
// (sealed), opens the push path and runs the initial full sync. Called by the app with the
// signed-in user's JWT, or by a server with the service role key and a user_id. Calling it
// again reuses what exists. A browser calls it, so it answers CORS preflights.
import { z } from "zod";
import { handle, json, parseJsonBody, requireMethod } from "../_shared/http/handler.ts";
import { actingUserId, authenticateCaller } from "../_shared/auth/caller.ts";
import { services } from "../_shared/services.ts";
import { connectGoogleCalendar } from "../_shared/providers/google/connect.ts";

const googleCommon = {
  provider: z.literal("google").optional(),
  calendar_id: z.string().min(1).max(1024).default("primary"),
  user_id: z.uuid().optional(),
};
const SetupRequest = z.union([
  // The provider_refresh_token Supabase Auth hands the app after Google sign-in.
  z.strictObject({ refresh_token: z.string().min(1), ...googleCommon }),
  // Or an authorization code for the function to exchange.
  z.strictObject({ code: z.string().min(1), redirect_uri: z.url(), ...googleCommon }),
]);

Deno.serve(handle("setup-calendar-webhook", async (request) => {
  requireMethod(request, "POST");
  const s = services();
  const caller = await authenticateCaller(request, s.config, ["user", "service"]);
  const body = await parseJsonBody(request, SetupRequest);
  const userId = actingUserId(caller, body.user_id, "connect a calendar");
  const result = await connectGoogleCalendar(s, {
    userId,
    calendarId: body.calendar_id,
    credential: "code" in body
      ? { code: body.code, redirectUri: body.redirect_uri }
      : { refreshToken: body.refresh_token },
  });
  return json(result);
}, { cors: true }));

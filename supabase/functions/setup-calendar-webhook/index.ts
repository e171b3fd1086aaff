// Connects a user's calendar provider after OAuth (`provider`: "google" when absent, "calendly"
// or "notion"): stores the connection with its tokens (sealed), opens the push path (a Google
// channel, a Calendly webhook subscription; Notion's webhooks are set up in Notion's UI and
// polling backs them up) and runs the initial full sync. Called by the app with the signed-in
// user's JWT, or by a server with the service role key and a user_id. Calling it again reuses
// what exists. A browser calls it, so it answers CORS preflights.
import { z } from "zod";
import { handle, json, parseJsonBody, requireMethod } from "../_shared/http/handler.ts";
import { actingUserId, authenticateCaller } from "../_shared/auth/caller.ts";
import { services } from "../_shared/services.ts";
import { connectGoogleCalendar } from "../_shared/providers/google/connect.ts";
import { connectCalendly } from "../_shared/providers/calendly/connect.ts";
import { connectNotion } from "../_shared/providers/notion/connect.ts";

const user_id = z.uuid().optional();
const googleCommon = {
  // Absent = Google, as before the provider field existed.
  provider: z.literal("google").optional(),
  calendar_id: z.string().min(1).max(1024).default("primary"),
  user_id,
};
const calendlyCommon = { provider: z.literal("calendly"), user_id };
const notionCommon = {
  provider: z.literal("notion"),
  // The database to follow (with or without dashes) and the name of its date property.
  database_id: z.string().min(1).max(100),
  date_property: z.string().min(1).max(200).default("Date"),
  // Planned blocks written into the database as pages (write-back to Notion).
  write_back: z.boolean().default(false),
  user_id,
};
const SetupRequest = z.union([
  // The provider_refresh_token Supabase Auth hands the app after Google sign-in.
  z.strictObject({ refresh_token: z.string().min(1), ...googleCommon }),
  // Or an authorization code for the function to exchange.
  z.strictObject({ code: z.string().min(1), redirect_uri: z.url(), ...googleCommon }),
  z.strictObject({ refresh_token: z.string().min(1), ...calendlyCommon }),
  z.strictObject({ code: z.string().min(1), redirect_uri: z.url(), ...calendlyCommon }),
  // An internal integration token, or an OAuth code of the public integration.
  z.strictObject({ token: z.string().min(1).max(1024), ...notionCommon }),
  z.strictObject({ code: z.string().min(1), redirect_uri: z.url(), ...notionCommon }),
]);

Deno.serve(handle("setup-calendar-webhook", async (request) => {
  requireMethod(request, "POST");
  const s = services();
  const caller = await authenticateCaller(request, s.config, ["user", "service"]);
  const body = await parseJsonBody(request, SetupRequest);
  const userId = actingUserId(caller, body.user_id, "connect a calendar");
  if (body.provider === "notion") {
    return json(
      await connectNotion(s, {
        userId,
        credential: "token" in body
          ? { token: body.token }
          : { code: body.code, redirectUri: body.redirect_uri },
        databaseId: body.database_id,
        dateProperty: body.date_property,
        writeBack: body.write_back,
      }),
    );
  }
  const credential = "code" in body
    ? { code: body.code, redirectUri: body.redirect_uri }
    : { refreshToken: body.refresh_token };
  if (body.provider === "calendly") {
    return json(await connectCalendly(s, { userId, credential }));
  }
  const result = await connectGoogleCalendar(s, {
    userId,
    calendarId: body.calendar_id,
    credential,
  });
  return json(result);
}, { cors: true }));

// Disconnects a calendar connection (Google, Calendly or Notion):
//   - the signed-in user (their JWT) disconnects one of their own connections;
//   - a server (service role) disconnects any connection.
// The mirror and sync state go at once and the connection is left 'revoked'; what write-back
// wrote is removed, its channels are stopped and its grant revoked at the provider through the
// outbound queue (retried until done). Deleting a user from auth.users queues the same release
// (see the disconnect migration).
// verify_jwt = false: it authenticates each kind of caller itself. A browser calls it, so it
// answers CORS preflights.
import { z } from "zod";
import { handle, json, parseJsonBody, requireMethod } from "../_shared/http/handler.ts";
import { authenticateCaller } from "../_shared/auth/caller.ts";
import { services } from "../_shared/services.ts";
import { disconnectConnection } from "../_shared/sync/disconnect.ts";

const DisconnectRequest = z.strictObject({ connection_id: z.uuid() });

Deno.serve(handle("disconnect-calendar", async (request) => {
  requireMethod(request, "POST");
  const s = services();
  const caller = await authenticateCaller(request, s.config, ["service", "user"]);
  const body = await parseJsonBody(request, DisconnectRequest);
  const result = await disconnectConnection(
    s.db,
    body.connection_id,
    caller.kind === "user" ? caller.userId : null,
  );
  console.log(
    `[disconnect] connection=${result.connection_id} provider=${result.provider} ` +
      `calendars=${result.calendars_removed} channels_to_stop=${result.channels_to_stop}`,
  );
  return json(result);
}, { cors: true }));

// Drains the durable outbound queue: planned blocks written into the user's calendars
// (write-back) and provider-side cleanup. Kicked by the database right after an enqueue
// (pg_net, once per transaction) and swept every minute by pg_cron (x-cron-secret), or called
// by a server (service role). Answers 202 at once and works in the background, within a time
// budget well inside the hosted wall clock; what is left is claimed by the next kick or sweep.
// verify_jwt = false: it authenticates each kind of caller itself.
import { z } from "zod";
import { handle, json, parseJsonBody, requireMethod } from "../_shared/http/handler.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { authenticateCaller } from "../_shared/auth/caller.ts";
import { drainOutbound, services } from "../_shared/services.ts";

const ProcessRequest = z.strictObject({
  trigger: z.enum(["kick", "sweep", "manual"]).optional(),
  /** Wait for the drain and answer its report (service role; tests and operators). */
  wait: z.boolean().optional(),
});

Deno.serve(handle("process-outbound-queue", async (request) => {
  requireMethod(request, "POST");
  const s = services();
  const caller = await authenticateCaller(request, s.config, ["cron", "service"]);
  const body = await parseJsonBody(request, ProcessRequest);
  if (caller.kind === "service" && body.wait) return json(await drainOutbound(s));
  runInBackground("process-outbound-queue", async () => {
    const report = await drainOutbound(s);
    if (report.claimed > 0) {
      console.log(
        `[process-outbound-queue] claimed=${report.claimed} done=${report.done} ` +
          `retried=${report.retried} failed=${report.failed} held=${report.held}`,
      );
    }
  });
  return json({ status: "accepted" }, 202);
}));

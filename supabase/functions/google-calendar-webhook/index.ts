Deno.serve(() => Response.json({ function: "google-calendar-webhook", status: "ok" }));

Deno.serve(() => Response.json({ function: "setup-calendar-webhook", status: "ok" }));

Deno.serve(() => Response.json({ function: "refresh-calendar-webhook", status: "ok" }));

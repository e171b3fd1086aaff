Deno.serve(() => Response.json({ function: "calendly-webhook", status: "ok" }));

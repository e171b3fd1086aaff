Deno.serve(() => Response.json({ function: "recalculate-schedule", status: "ok" }));

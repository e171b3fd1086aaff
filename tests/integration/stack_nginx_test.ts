// nginx in front of the local stack's gateway (stack/nginx.ts): the configuration it is given,
// and, on a private stack of its own (a throwaway project, no emulators), which requests nginx
// sends straight to their upstream (the fast lanes), which it leaves to the Deno gateway, and
// that a request an upstream already received is never sent a second time.
import assert from "node:assert/strict";
import { findNginx, nginxConfig } from "../../stack/nginx.ts";
import { startPrivateStack, writeTestProject } from "../../stack/private_stack.ts";

const NGINX = findNginx();

const sample = (runDir: string) => ({
  port: 1,
  gatewayOrigin: "http://127.0.0.1:2",
  postgrestOrigin: "http://127.0.0.1:3",
  openFunctions: [{ name: "google-calendar-webhook", origin: "http://127.0.0.1:4" }],
  apiKeys: ["eyJhbGciOiJIUzI1NiJ9." + "a".repeat(300) + ".sig_-"],
  runDir,
});

Deno.test({
  name: "nginx accepts the generated configuration; values it cannot write safely are refused",
  ignore: NGINX === null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "stack-nginx-" });
    try {
      const user = Deno.uid() === 0 ? "root" : null;
      await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConfig({ ...sample(dir), user }));
      const checked = await new Deno.Command(NGINX!, {
        args: ["-t", "-q", "-e", "stderr", "-p", dir, "-c", `${dir}/nginx.conf`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(checked.code, 0, new TextDecoder().decode(checked.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const refused = [
      { ...sample("/tmp/x"), openFunctions: [{ name: "a;b", origin: "http://127.0.0.1:4" }] },
      { ...sample("/tmp/x"), postgrestOrigin: "http://127.0.0.1:3/elsewhere" },
      { ...sample("/tmp/x"), apiKeys: ['key"; return 200; #'] },
      { ...sample("/tmp/x; user root"), apiKeys: [] },
      { ...sample("/tmp/x"), user: "root; daemon on" },
    ];
    for (const options of refused) assert.throws(() => nginxConfig(options));
  },
});

// An open function (verify_jwt = false) that says how it was reached: the Deno gateway asks its
// upstreams for plain bytes (accept-encoding: identity); nginx passes the client's header on.
const OPEN = `
Deno.serve((request) => Response.json({
  path: new URL(request.url).pathname,
  acceptEncoding: request.headers.get("accept-encoding"),
  body: request.body ? "has body" : null,
}));
`;
// Receives the request, notes it, and dies before answering.
const DIES = `
Deno.serve(async (request) => {
  const marker = new URL(request.url).searchParams.get("marker")!;
  await Deno.writeTextFile(marker, "received\\n", { append: true });
  Deno.exit(1);
});
`;
const GUARDED = `Deno.serve(() => new Response("guarded"));`;
const PROBE_MIGRATION = `
create or replace function public.stack_probe() returns jsonb language sql stable as $$
  select jsonb_build_object('ok', true, 'role', current_user)
$$;
grant execute on function public.stack_probe() to anon, authenticated, service_role;
`;

Deno.test({
  name: "through a private stack: nginx takes the fast lanes, the gateway the rest, and nothing " +
    "an upstream received is sent twice",
  ignore: NGINX === null,
  fn: async () => {
    const project = await Deno.makeTempDir({ prefix: "stack-nginx-project-" });
    await writeTestProject(project, {
      functions: {
        open: { verifyJwt: false, source: OPEN },
        dies: { verifyJwt: false, source: DIES },
        guarded: { verifyJwt: true, source: GUARDED },
      },
      migrations: { "20250101000000_probe": PROBE_MIGRATION },
    });
    const stack = await startPrivateStack({ STACK_PROJECT_DIR: project, STACK_EMULATORS: "off" });
    const marker = await Deno.makeTempFile();
    try {
      const api = stack.status.API_URL;
      const asClient = { "accept-encoding": "gzip" };

      // The exact path of an open function: nginx → the worker.
      const fast = await fetch(`${api}/functions/v1/open?x=1`, {
        method: "POST",
        headers: asClient,
        body: "payload",
      });
      assert.equal(fast.status, 200);
      assert.deepEqual(await fast.json(), {
        path: "/open",
        acceptEncoding: "gzip",
        body: "has body",
      });
      // A sub-path, and every JWT-checked function: the Deno gateway.
      const sub = await fetch(`${api}/functions/v1/open/deeper`, { headers: asClient });
      assert.deepEqual(await sub.json(), {
        path: "/open/deeper",
        acceptEncoding: "identity",
        body: null,
      });
      const guarded = await fetch(`${api}/functions/v1/guarded`);
      assert.equal(guarded.status, 401);
      assert.deepEqual(await guarded.json(), {
        code: 401,
        message: "Missing authorization header",
      });

      // PostgREST: a known header key is the fast lane (the key is the bearer: its role); a key
      // in the query, an unknown key and no key are the gateway's, with the same answers as before.
      const probe = `${api}/rest/v1/rpc/stack_probe`;
      const byHeader = await fetch(probe, { headers: { apikey: stack.status.SERVICE_ROLE_KEY } });
      assert.equal(byHeader.headers.get("access-control-allow-origin"), "*");
      assert.deepEqual(await byHeader.json(), { ok: true, role: "service_role" });
      const byQuery = await fetch(`${probe}?apikey=${stack.status.ANON_KEY}`);
      assert.deepEqual(await byQuery.json(), { ok: true, role: "anon" });
      const unknown = await fetch(probe, { headers: { apikey: "not-a-key" } });
      assert.equal(unknown.status, 401);
      assert.deepEqual(await unknown.json(), { message: "Invalid API key" });
      const none = await fetch(probe);
      assert.equal(none.status, 401);
      assert.deepEqual(await none.json(), { message: "No API key found in request" });

      // A worker that is gone refuses the connection: the request waits for its restart (via
      // the gateway) and is answered.
      const pid = await stack.pid("function-open");
      assert.ok(pid);
      Deno.kill(pid, "SIGKILL");
      while (await Deno.stat(`/proc/${pid}`).then(() => true, () => false)) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const afterCrash = await fetch(`${api}/functions/v1/open`, { method: "POST", body: "again" });
      assert.equal(afterCrash.status, 200);
      assert.equal((await afterCrash.json()).path, "/open");

      // A worker that received the request and died: a plain 502, and the request was not sent
      // again (not by nginx, not through the gateway).
      const died = await fetch(`${api}/functions/v1/dies?marker=${encodeURIComponent(marker)}`, {
        method: "POST",
        body: "once",
      });
      assert.equal(died.status, 502);
      assert.deepEqual(await died.json(), {
        message: "An invalid response was received from the upstream server",
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(await Deno.readTextFile(marker), "received\n");
    } finally {
      await stack.wipe();
      await Deno.remove(marker).catch(() => {});
      await Deno.remove(project, { recursive: true });
    }
  },
});

// The local stack's supervisor (stack/supervisor.ts) on a private stack of its own: a throwaway
// project folder (tiny functions and one migration, so nothing of this repository's functions or
// migrations is involved) and fake emulators. Checks that every emulator folder is started and
// exported with its function secrets, that a function which cannot boot holds nothing back,
// that crashed function workers, PostgREST and the pg_net worker come back while everything else
// keeps answering, and that stop drains background work and leaves no process behind, even
// right after a crash.
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  freePort,
  type PrivateStack,
  startPrivateStack,
  writeTestProject,
} from "../../stack/private_stack.ts";

const ECHO = `
Deno.serve(() => {
  const names = Object.keys(Deno.env.toObject()).filter((name) =>
    /^(GOOGLE|CALENDLY|NOTION)_/.test(name) || name === "SUPABASE_URL"
  );
  return Response.json({
    pid: Deno.pid,
    env: Object.fromEntries(names.map((name) => [name, Deno.env.get(name)])),
  });
});
`;
const OTHER = `Deno.serve(() => new Response("other"));`;
const BROKEN = `throw new Error("this function does not boot, on purpose");`;
// Starts background work that outlives the response; it must finish on stop.
const DRAIN = `
Deno.serve((request) => {
  const marker = new URL(request.url).searchParams.get("marker")!;
  // deno-lint-ignore no-explicit-any
  (globalThis as any).EdgeRuntime.waitUntil(
    new Promise((resolve) => setTimeout(resolve, 1_500))
      .then(() => Deno.writeTextFile(marker, "drained")),
  );
  return new Response("accepted", { status: 202 });
});
`;
const PROBE_MIGRATION = `
create or replace function public.stack_probe() returns jsonb language sql stable as $$
  select jsonb_build_object('ok', true)
$$;
grant execute on function public.stack_probe() to anon, authenticated, service_role;
`;

function fakeEmulator(variable: string): string {
  return `
const at = Deno.args.indexOf("--port");
const port = Number(Deno.args[at + 1]);
const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, () =>
  new Response("${variable}"));
console.log("${variable}=http://127.0.0.1:" + server.addr.port);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

function processGroupAlive(pgid: number): boolean {
  return new Deno.Command("pgrep", { args: ["-g", String(pgid)] }).outputSync().code === 0;
}

async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

async function until<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  ms = 15_000,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check().catch(() => null);
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function statusOf(url: string, init?: RequestInit): Promise<number> {
  const response = await fetch(url, init);
  await response.body?.cancel();
  return response.status;
}

/** Hits `urls` every 25 ms until stopped; resolves with the statuses seen per URL. */
function keepCalling(urls: string[], headers: Record<string, string>) {
  let running = true;
  const seen: Record<string, number[]> = Object.fromEntries(urls.map((url) => [url, []]));
  const loop = (async () => {
    while (running) {
      await Promise.all(urls.map(async (url) => {
        seen[url].push(await statusOf(url, { headers }).catch(() => 0));
      }));
      await sleep(25);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

Deno.test("the supervisor: emulators, boot failures, crash restarts and a clean stop", async (t) => {
  const work = await Deno.makeTempDir({ prefix: "stack-supervisor-test-" });
  const project = `${work}/project`;
  await writeTestProject(project, {
    functions: {
      echo: { verifyJwt: false, source: ECHO },
      other: { verifyJwt: false, source: OTHER },
      broken: { verifyJwt: false, source: BROKEN },
      drain: { verifyJwt: false, source: DRAIN },
    },
    migrations: { "20250101000000_probe": PROBE_MIGRATION },
  });
  const emulators = `${work}/emulators`;
  for (
    const [name, variable] of [
      ["google", "GOOGLE_EMULATOR_URL"],
      ["calendly", "CALENDLY_EMULATOR_URL"],
      ["notion", "NOTION_EMULATOR_URL"],
    ]
  ) {
    await Deno.mkdir(`${emulators}/${name}`, { recursive: true });
    await Deno.writeTextFile(`${emulators}/${name}/main.ts`, fakeEmulator(variable));
  }
  await Deno.mkdir(`${emulators}/half-written`); // no main.ts: skipped
  const envFile = `${work}/functions.env`;
  await Deno.writeTextFile(envFile, "GOOGLE_CLIENT_ID=from-the-env-file\n");
  const calendlyPort = freePort();

  let stack: PrivateStack | undefined;
  try {
    stack = await startPrivateStack({
      STACK_PROJECT_DIR: project,
      STACK_EMULATORS_DIR: emulators,
      STACK_ENV_FILE: envFile,
      CALENDLY_EMULATOR_PORT: String(calendlyPort),
      NOTION_API_URL: "http://notion.elsewhere.test",
    });
    const api = stack.status.API_URL;
    const fn = (name: string) => `${api}/functions/v1/${name}`;
    const anon = { apikey: stack.status.ANON_KEY };
    const probe = `${api}/rest/v1/rpc/stack_probe`;
    const supervisorLog = () => Deno.readTextFile(`${stack!.stateDir}/supervisor.log`);

    await t.step(
      "every emulator folder with a main.ts runs, is exported and configures the functions",
      async () => {
        const { status } = stack!;
        assert.equal(status.CALENDLY_EMULATOR_URL, `http://127.0.0.1:${calendlyPort}`);
        assert.match(status.GOOGLE_EMULATOR_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.match(status.NOTION_EMULATOR_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(Object.keys(status).filter((key) => key.startsWith("HALF")).length, 0);
        const listed = (await stack!.command("status")).stdout;
        assert.match(listed, /^CALENDLY_EMULATOR_URL=/m);
        assert.match(listed, /^NOTION_EMULATOR_URL=/m);
        assert.equal(await (await fetch(status.NOTION_EMULATOR_URL)).text(), "NOTION_EMULATOR_URL");

        const { env } = await (await fetch(fn("echo"))).json();
        const google = status.GOOGLE_EMULATOR_URL;
        const calendly = status.CALENDLY_EMULATOR_URL;
        assert.deepEqual(env, {
          SUPABASE_URL: api,
          GOOGLE_OAUTH_TOKEN_URL: `${google}/token`,
          GOOGLE_CALENDAR_API_URL: `${google}/`,
          GOOGLE_OAUTH_REVOKE_URL: `${google}/revoke`,
          GOOGLE_CLIENT_ID: "from-the-env-file", // the env file beats the defaults
          GOOGLE_CLIENT_SECRET: "emulator-client-secret",
          CALENDLY_API_URL: calendly,
          CALENDLY_OAUTH_TOKEN_URL: `${calendly}/oauth/token`,
          CALENDLY_OAUTH_REVOKE_URL: `${calendly}/oauth/revoke`,
          CALENDLY_WEBHOOK_SIGNING_KEY: "emulator-calendly-app-signing-key",
          CALENDLY_CLIENT_ID: "emulator-calendly-client-id",
          CALENDLY_CLIENT_SECRET: "emulator-calendly-client-secret",
          CALENDLY_EMULATOR_PORT: String(calendlyPort),
          NOTION_API_URL: "http://notion.elsewhere.test", // the process environment beats both
          NOTION_OAUTH_TOKEN_URL: `${status.NOTION_EMULATOR_URL}/v1/oauth/token`,
          NOTION_OAUTH_REVOKE_URL: `${status.NOTION_EMULATOR_URL}/v1/oauth/revoke`,
          NOTION_CLIENT_ID: "emulator-notion-client-id",
          NOTION_CLIENT_SECRET: "emulator-notion-client-secret",
        });
      },
    );

    await t.step(
      "a function that cannot boot answers 503 BOOT_ERROR and holds nothing back",
      async () => {
        const broken = await fetch(fn("broken"), { method: "POST" });
        assert.equal(broken.status, 503);
        assert.equal((await broken.json()).code, "BOOT_ERROR");
        assert.equal(await statusOf(fn("other")), 200);
        assert.match(await supervisorLog(), /function-broken failed to start/);
      },
    );

    await t.step(
      "a SIGKILLed function worker is restarted; everything else keeps answering",
      async () => {
        const before = await stack!.pid("function-echo");
        assert.ok(before && alive(before));
        assert.equal((await (await fetch(fn("echo"))).json()).pid, before);
        const background = keepCalling([fn("other"), probe], anon);
        await sleep(100);
        Deno.kill(before, "SIGKILL");
        await until("the worker to be gone", () => Promise.resolve(!alive(before)));
        const killedAt = performance.now();
        // A request right after the crash waits for the new worker, like a cold start.
        const first = await fetch(fn("echo"), { method: "POST", body: "{}" });
        assert.equal(first.status, 200);
        const after = (await first.json()).pid;
        assert.notEqual(after, before);
        assert.ok(performance.now() - killedAt < 10_000);
        assert.equal(await stack!.pid("function-echo"), after);
        await sleep(200);
        const seen = await background.stop();
        for (const [url, statuses] of Object.entries(seen)) {
          assert.ok(statuses.length > 0, url);
          assert.deepEqual(statuses.filter((status) => status !== 200), [], url);
        }
        assert.match(
          await supervisorLog(),
          /\[supervisor\] function-echo exited \(137\); restarting/,
        );
        assert.equal((await (await fetch(`${api}/health`)).json()).status, "ok");
      },
    );

    await t.step("PostgREST and the pg_net worker come back after a crash", async () => {
      const postgrest = (await stack!.pid("postgrest"))!;
      Deno.kill(postgrest, "SIGKILL");
      await until("PostgREST to be gone", () => Promise.resolve(!alive(postgrest)));
      const answer = await fetch(probe, { headers: anon });
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { ok: true });
      assert.notEqual(await stack!.pid("postgrest"), postgrest);
      assert.match(await supervisorLog(), /postgrest exited \(137\); restarting/);

      const pgNet = (await stack!.pid("pg-net"))!;
      Deno.kill(pgNet, "SIGKILL");
      await until("a new pg_net worker", async () => {
        const pid = await stack!.pid("pg-net");
        return pid && pid !== pgNet;
      });
      const sql = postgres(stack!.status.DB_URL, { max: 1, onnotice: () => {} });
      try {
        const [{ id }] = await sql`select net.http_post(${fn("other")}, '{}'::jsonb) as id`;
        const row = await until("pg_net's response", async () => {
          const [response] = await sql`select status_code from net._http_response where id = ${id}`;
          return response;
        });
        assert.equal(row.status_code, 200);
      } finally {
        await sql.end();
      }
      assert.match(await supervisorLog(), /pg-net exited \(137\); restarting/);
    });

    await t.step(
      "stop right after a crash drains background work and leaves no process",
      async () => {
        const marker = `${work}/drained`;
        assert.equal(await statusOf(`${fn("drain")}?marker=${encodeURIComponent(marker)}`), 202);
        const pgid = Number(await Deno.readTextFile(`${stack!.stateDir}/supervisor.pid`));
        assert.ok(processGroupAlive(pgid));
        Deno.kill((await stack!.pid("function-other"))!, "SIGKILL");
        const stopped = await stack!.command("stop");
        assert.equal(stopped.code, 0, stopped.stderr);
        assert.equal(await Deno.readTextFile(marker), "drained", "waitUntil work finished");
        assert.equal(processGroupAlive(pgid), false, "no process of the stack's group is left");
        assert.equal(await listening(stack!.apiPort), false, "the gateway is gone");
        assert.equal(await listening(stack!.dbPort), false, "PostgreSQL is gone");
        const log = await supervisorLog();
        assert.doesNotMatch(log, /already terminated|Uncaught|failed to start:/);
        assert.match(log, /\[supervisor\] stopping/);
      },
    );
  } finally {
    await stack?.wipe();
    await Deno.remove(work, { recursive: true });
  }
});

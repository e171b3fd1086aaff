// What integration tests need from the running local stack: its URLs and keys (exported by
// `make test` from `make status`), a direct SQL connection, users and their JWTs.
import postgres from "postgres";
import { signUserToken } from "../stack/keys.ts";

function required(name: string): string {
  const value = Deno.env.get(name);
  if (!value) {
    throw new Error(
      `${name} is not set: run integration tests through \`make test\`, or export the output ` +
        "of `make status` first",
    );
  }
  return value;
}

export const stack = {
  get apiUrl() {
    return required("API_URL");
  },
  get anonKey() {
    return required("ANON_KEY");
  },
  get serviceRoleKey() {
    return required("SERVICE_ROLE_KEY");
  },
  get jwtSecret() {
    return required("JWT_SECRET");
  },
  get dbUrl() {
    return required("DB_URL");
  },
  get googleEmulatorUrl() {
    return required("GOOGLE_EMULATOR_URL");
  },
  get calendlyEmulatorUrl() {
    return required("CALENDLY_EMULATOR_URL");
  },
  get notionEmulatorUrl() {
    return required("NOTION_EMULATOR_URL");
  },
  functionUrl(name: string) {
    return `${required("API_URL")}/functions/v1/${name}`;
  },
};

/** A short-lived SQL connection as the database owner; close it with `await sql.end()`. */
export function connectDb() {
  return postgres(stack.dbUrl, { max: 4, onnotice: () => {} });
}

/** A connection from connectDb. */
export type Sql = ReturnType<typeof connectDb>;

export interface TestUser {
  id: string;
  email: string;
  jwt: string;
}

/** Creates a user in auth.users (as Supabase Auth would) and signs an access token for them. */
export async function createUser(
  sql: Sql,
  label = "user",
): Promise<TestUser> {
  const id = crypto.randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.test`;
  await sql`insert into auth.users (id, email, aud, role) values (${id}, ${email}, 'authenticated', 'authenticated')`;
  return { id, email, jwt: await signUserToken(id, stack.jwtSecret, { email }) };
}

/** What a function answered: its status, headers and JSON body (null when it sent none). */
export interface FunctionAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * POSTs `body` as JSON to an Edge Function through the gateway, with `token` (a user's JWT, the
 * service-role or anon key) as the bearer, as the app, a server or pg_cron would call it.
 */
export async function callFunction<T = Record<string, unknown>>(
  name: string,
  token: string,
  body: unknown = {},
  headers: Record<string, string> = {},
): Promise<FunctionAnswer<T>> {
  const response = await fetch(stack.functionUrl(name), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: await response.json().catch(() => null),
  };
}

/** PostgREST through the gateway, with the anon key and optionally a user's JWT. */
export function rest(path: string, init: RequestInit & { jwt?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("apikey", stack.anonKey);
  if (init.jwt) headers.set("authorization", `Bearer ${init.jwt}`);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  return fetch(`${stack.apiUrl}/rest/v1${path}`, { ...init, headers });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  { timeoutMs = 10_000, intervalMs = 25, message = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${message}${last ? `: ${last}` : ""}`,
  );
}

/** The running local stack's own folder (.stack/<API_PORT>: logs/, pids/), from API_URL. */
export function stackStateDir(): string {
  const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  return `${root}/.stack/${new URL(stack.apiUrl).port}`;
}

/**
 * The pid of one part of the running local stack, from its pids/<name>.pid ("gateway",
 * "postgrest", "pg-net", "function-<name>", "<name>-emulator"), or null when it is not running
 * (a crashed function worker has no pid file until the supervisor restarted it).
 */
export async function stackPartPid(name: string): Promise<number | null> {
  try {
    const pid = Number((await Deno.readTextFile(`${stackStateDir()}/pids/${name}.pid`)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

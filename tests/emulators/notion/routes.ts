// Maps an API request (method + path under /v1/) to its operation name (the counter key) and
// handler. Invariants: every request gets an operation name ("unknown" when nothing matches);
// `dataSourcesOnly` routes refuse versions before 2025-09-03; only oauth.token skips
// Notion-Version and bearer authentication, and oauth.revoke skips the bearer (both use the
// client's HTTP Basic credentials).

import {
  queryDatabase,
  queryDataSource,
  retrieveDatabase,
  retrieveDataSource,
  retrieveUser,
  search,
  usersMe,
} from "./api_data.ts";
import { createPageEndpoint, retrievePage, updatePageEndpoint } from "./api_pages.ts";
import type { ApiCall } from "./context.ts";

export interface Route {
  op: string;
  /** POST /v1/oauth/token: no Notion-Version, no bearer token, no rate limit. */
  oauth?: boolean;
  /** POST /v1/oauth/revoke: Notion-Version required, HTTP Basic client auth, no bearer token. */
  revoke?: boolean;
  /** Data-source endpoints: 400 invalid_request for versions before 2025-09-03. */
  dataSourcesOnly?: boolean;
  run?: (call: ApiCall) => Response | Promise<Response>;
  params: string[];
}

type Entry = [method: string, pattern: RegExp, op: string, extra: Omit<Route, "op" | "params">];

const ID = "([^/]+)";
const TABLE: Entry[] = [
  ["POST", /^\/v1\/oauth\/token$/, "oauth.token", { oauth: true }],
  ["POST", /^\/v1\/oauth\/revoke$/, "oauth.revoke", { revoke: true }],
  ["GET", /^\/v1\/users\/me$/, "users.me", { run: usersMe }],
  ["GET", new RegExp(`^/v1/users/${ID}$`), "users.retrieve", { run: retrieveUser }],
  ["POST", /^\/v1\/search$/, "search", { run: search }],
  ["GET", new RegExp(`^/v1/databases/${ID}$`), "databases.retrieve", { run: retrieveDatabase }],
  ["POST", new RegExp(`^/v1/databases/${ID}/query$`), "databases.query", { run: queryDatabase }],
  ["GET", new RegExp(`^/v1/data_sources/${ID}$`), "data_sources.retrieve", {
    run: retrieveDataSource,
    dataSourcesOnly: true,
  }],
  ["POST", new RegExp(`^/v1/data_sources/${ID}/query$`), "data_sources.query", {
    run: queryDataSource,
    dataSourcesOnly: true,
  }],
  ["POST", /^\/v1\/pages$/, "pages.create", { run: createPageEndpoint }],
  ["GET", new RegExp(`^/v1/pages/${ID}$`), "pages.retrieve", { run: retrievePage }],
  ["PATCH", new RegExp(`^/v1/pages/${ID}$`), "pages.update", { run: updatePageEndpoint }],
];

export function route(method: string, path: string): Route | undefined {
  const p = path.length > 1 ? path.replace(/\/+$/, "") : path;
  for (const [m, pattern, op, extra] of TABLE) {
    if (m !== method) continue;
    const match = pattern.exec(p);
    if (match) return { op, ...extra, params: match.slice(1).map(decodeURIComponent) };
  }
  return undefined;
}

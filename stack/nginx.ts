// The front of the local stack's gateway: nginx on API_PORT, in front of stack/gateway.ts.
//
// Why two layers: every request a webhook or a function makes crosses the gateway, and a proxy
// written in Deno (Deno.serve + fetch, however lean) costs about as much CPU per request as the
// receiver behind it: measured on a 2-core machine against a trivial upstream, a bare Deno.serve
// answered ~12,000 requests/s, through a minimal Deno proxy ~4,800/s, through nginx ~10,000/s.
// nginx (the engine under Supabase's own Kong gateway) therefore carries the hot paths, and the
// Deno gateway keeps everything that needs the stack's own logic, unchanged:
//
//   fast lanes (nginx → upstream, nothing else in between)
//     POST|GET … /functions/v1/<name>   exactly, for functions with verify_jwt = false (the
//                                       webhooks Google, Calendly, Notion and pg_cron call)
//     /rest/v1/…                        with a known `apikey` header and no `apikey` query
//                                       parameter (what supabase-js sends); the key becomes
//                                       the bearer when there is none, and is hidden, as Kong does
//   everything else → the Deno gateway (JWT-checked functions, sub-paths, preflights, unknown or
//     missing keys, static files, health, 404s), and a fast lane whose upstream refuses the
//     connection (a worker restarting, or moved to a new port after a failed boot): the Deno
//     gateway waits for it like a cold start. A request an upstream already received is never
//     sent twice: if it then fails, the answer is a plain 502.
//
// The configuration is generated (this module is pure: tested without nginx) and nginx runs in
// the foreground under the supervisor, with its pid, temporary files and logs in the stack's
// state folder.

export interface NginxUpstream {
  name: string;
  origin: string;
}

export interface NginxConfigOptions {
  /** Where nginx listens (127.0.0.1). */
  port: number;
  /** The Deno gateway (stack/gateway.ts), on an internal port. */
  gatewayOrigin: string;
  postgrestOrigin: string;
  /** Functions nginx may call directly: those with verify_jwt = false. */
  openFunctions: NginxUpstream[];
  /** Keys accepted as `apikey` on /rest/v1 (the stack's anon and service-role keys). */
  apiKeys: string[];
  /** A folder for nginx's pid and temporary files. */
  runDir: string;
  /**
   * The user nginx's worker runs as. Started as root, nginx would otherwise switch its worker
   * to `nobody`, which cannot write temporary files under a state folder only root may enter
   * (a stack in a `mktemp -d` checkout); null leaves nginx's default (the invoking user when
   * not root).
   */
  user?: string | null;
}

// A function may run for the hosted wall clock (400 s on paid plans); the Deno gateway waits
// as long.
const UPSTREAM_TIMEOUT = "400s";
// Well below the 30 s after which PostgREST (warp) closes an idle keep-alive connection, so
// nginx does not send a request on a connection its upstream is closing; long enough that
// webhooks a few seconds apart reuse their connection.
const UPSTREAM_IDLE_TIMEOUT = "15s";
const REST_CORS_ORIGIN = 'add_header access-control-allow-origin "*" always;';

/** The headers every proxied request carries: nginx inherits none once a location sets one. */
const proxyHeaders = (host: string) =>
  `proxy_set_header Host ${host};
      proxy_set_header Connection "";`;

const hostPort = (origin: string): string => {
  const url = new URL(origin);
  if (url.protocol !== "http:" || url.pathname !== "/" || url.search || url.username) {
    throw new Error(`an upstream must be a bare http origin, got ${origin}`);
  }
  return url.host;
};

/** A power of two that holds the longest key with room for nginx's own bookkeeping. */
function mapBucketSize(keys: string[]): number {
  let size = 64;
  while (size < Math.max(0, ...keys.map((key) => key.length)) + 32) size *= 2;
  return size;
}

/** A name nginx accepts for an upstream block (function names may hold dashes). */
const upstreamName = (name: string) => `fn_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;

function quoted(value: string): string {
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(value)) {
    throw new Error("a value written into the nginx configuration has unexpected characters");
  }
  return `"${value}"`;
}

function upstreamBlock(name: string, origin: string): string {
  return `  upstream ${name} {
    server ${hostPort(origin)} max_fails=0;
    keepalive 64;
    keepalive_timeout ${UPSTREAM_IDLE_TIMEOUT};
  }`;
}

/** The whole nginx.conf for the stack. */
export function nginxConfig(options: NginxConfigOptions): string {
  const functionNames = new Set<string>();
  for (const fn of options.openFunctions) {
    if (!/^[A-Za-z0-9_-]+$/.test(fn.name)) throw new Error(`unexpected function name ${fn.name}`);
    if (functionNames.has(fn.name)) throw new Error(`function ${fn.name} listed twice`);
    functionNames.add(fn.name);
  }
  if (options.user && !/^[a-z_][a-z0-9_-]*$/.test(options.user)) {
    throw new Error(`unexpected user ${options.user}`);
  }
  const run = options.runDir.replace(/\/+$/, "");
  if (!/^\/[A-Za-z0-9._/-]+$/.test(run)) throw new Error(`unexpected run folder ${run}`);
  const keys = options.apiKeys.map((key) => `    ${quoted(key)} 1;`).join("\n");
  const functionLocations = options.openFunctions.map((fn) => `
    location = /functions/v1/${fn.name} {
      proxy_pass http://${upstreamName(fn.name)}/${fn.name}$is_args$args;
      ${proxyHeaders(hostPort(fn.origin))}
      error_page 502 504 = @gateway_unless_sent;
    }`).join("\n");

  return `# Generated by stack/nginx.ts for one run of the local stack; do not edit.
${options.user ? `user ${options.user};\n` : ""}daemon off;
worker_processes 1;
pid ${run}/nginx.pid;
error_log stderr warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  server_tokens off;
  client_body_temp_path ${run}/client_body;
  proxy_temp_path ${run}/proxy;
  fastcgi_temp_path ${run}/fastcgi;
  uwsgi_temp_path ${run}/uwsgi;
  scgi_temp_path ${run}/scgi;
  # Sizes are the Deno gateway's and the upstreams' business, as before. Bodies up to the size
  # the Deno gateway buffers (a page of 2,500 events is ~1 MB) stay in memory, and answers are
  # passed on as the client reads them rather than spooled to disk.
  client_max_body_size 0;
  client_body_buffer_size 4m;
  proxy_max_temp_file_size 0;
  proxy_http_version 1.1;
  proxy_connect_timeout 2s;
  proxy_read_timeout ${UPSTREAM_TIMEOUT};
  proxy_send_timeout ${UPSTREAM_TIMEOUT};
  proxy_redirect off;
  # A request that failed on a pooled connection the upstream had just closed is sent again on
  # a new one (nginx does not count that attempt), but only when no answer can have been
  # started: idempotent methods, and PostgREST, whose every request is one transaction that a
  # lost connection rolls back. Anything else that fails is answered, never retried.
  proxy_next_upstream error;

  # API keys are JWTs, longer than a map's default bucket.
  map_hash_bucket_size ${mapBucketSize(options.apiKeys)};
  map $http_apikey $rest_known_key {
    default 0;
${keys}
  }
  # Kong's key-auth: the key is the bearer when the client sent no session.
  map $http_authorization $rest_authorization {
    "" "Bearer $http_apikey";
    default $http_authorization;
  }
  # The lane is fast only for a known header key, no key in the query, and no preflight.
  map "$rest_known_key:$arg_apikey:$request_method" $rest_fast_lane {
    default 0;
    "~^1::(?!OPTIONS$)" 1;
  }
  # The path as the client sent it (not decoded), without /rest/v1.
  map $request_uri $rest_upstream_uri {
    default "/";
    "~^/rest/v1(?<rest_path>/[^?]*)?(?<rest_query>\\?.*)?$" "$rest_path$rest_query";
  }
  # Whether the failed upstream already received the request (then it must not be sent again).
  map $upstream_bytes_sent $upstream_had_request {
    "" 0;
    "0" 0;
    default 1;
  }

  upstream deno_gateway {
    server ${hostPort(options.gatewayOrigin)} max_fails=0;
    keepalive 32;
    keepalive_timeout ${UPSTREAM_IDLE_TIMEOUT};
  }
${upstreamBlock("postgrest", options.postgrestOrigin)}
${options.openFunctions.map((fn) => upstreamBlock(upstreamName(fn.name), fn.origin)).join("\n")}

  server {
    listen 127.0.0.1:${options.port};

    # Everything that needs the stack's own logic; streams pass as they come.
    location / {
      proxy_pass http://deno_gateway;
      ${proxyHeaders("$http_host")}
      proxy_buffering off;
      proxy_request_buffering off;
    }

    location ^~ /rest/v1/ {
      if ($rest_fast_lane = 0) {
        return 418;
      }
      error_page 418 = @gateway;
      proxy_pass http://postgrest$rest_upstream_uri;
      ${proxyHeaders(hostPort(options.postgrestOrigin))}
      proxy_set_header apikey "";
      proxy_set_header Authorization $rest_authorization;
      proxy_next_upstream error non_idempotent;
      proxy_hide_header access-control-allow-origin;
      ${REST_CORS_ORIGIN}
      error_page 502 504 = @gateway_unless_sent;
    }
${functionLocations}

    location @gateway {
      proxy_pass http://deno_gateway;
      ${proxyHeaders("$http_host")}
      proxy_buffering off;
    }

    location @gateway_unless_sent {
      default_type application/json;
      if ($upstream_had_request) {
        return 502 '{"message":"An invalid response was received from the upstream server"}';
      }
      proxy_pass http://deno_gateway;
      ${proxyHeaders("$http_host")}
      proxy_buffering off;
    }
  }
}
`;
}

/** The nginx binary (Debian's nginx-core), or null when it is not installed. */
export function findNginx(): string | null {
  for (const candidate of ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]) {
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

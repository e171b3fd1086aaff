// The API gateway on API_PORT, standing in for the hosted project's API host:
//   /rest/v1/*            → PostgREST (requires a known `apikey`, like Supabase's gateway)
//   /functions/v1/<name>  → that function's worker (JWT checked when verify_jwt = true)
import { verifyJwt } from "./keys.ts";

export interface GatewayRoutes {
  postgrestUrl: string;
  functions: Map<string, { url: string; verifyJwt: boolean }>;
  jwtSecret: string;
  apiKeys: string[];
}

function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, x-client-info, apikey, content-type, prefer, range, accept-profile, content-profile",
  "access-control-allow-methods": "GET, POST, PATCH, PUT, DELETE, OPTIONS",
};

// Hop-by-hop headers never cross a proxy.
const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "host"];

async function forward(request: Request, target: string, headers: Headers): Promise<Response> {
  for (const name of HOP_BY_HOP) headers.delete(name);
  try {
    const upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
    const responseHeaders = new Headers(upstream.headers);
    for (const name of HOP_BY_HOP) responseHeaders.delete(name);
    return new Response(upstream.body, { status: upstream.status, headers: responseHeaders });
  } catch (error) {
    return json(502, { message: "An invalid response was received from the upstream server" }, {
      "x-gateway-error": String(error),
    });
  }
}

function bearerToken(headers: Headers): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(headers.get("authorization") ?? "");
  return match ? match[1].trim() : null;
}

export function createGatewayHandler(routes: GatewayRoutes) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);

    if (url.pathname.startsWith("/rest/v1")) {
      if (request.method === "OPTIONS") return new Response(null, { headers: CORS_HEADERS });
      const headers = new Headers(request.headers);
      const apiKey = headers.get("apikey") ?? url.searchParams.get("apikey");
      if (!apiKey) return json(401, { message: "No API key found in request" }, CORS_HEADERS);
      if (!routes.apiKeys.includes(apiKey)) {
        return json(401, { message: "Invalid API key" }, CORS_HEADERS);
      }
      // Supabase's gateway sends the key as the bearer when the client sent no session.
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${apiKey}`);
      const rest = url.pathname.slice("/rest/v1".length) || "/";
      const response = await forward(
        request,
        `${routes.postgrestUrl}${rest}${url.search}`,
        headers,
      );
      for (const [name, value] of Object.entries(CORS_HEADERS)) response.headers.set(name, value);
      return response;
    }

    const functionMatch = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (functionMatch) {
      const [, name, rest = ""] = functionMatch;
      const target = routes.functions.get(name);
      if (!target) {
        return json(404, { code: "NOT_FOUND", message: "Requested function was not found" });
      }
      if (target.verifyJwt && request.method !== "OPTIONS") {
        const token = bearerToken(request.headers);
        if (!token) return json(401, { code: 401, message: "Missing authorization header" });
        try {
          await verifyJwt(token, routes.jwtSecret);
        } catch {
          return json(401, { code: 401, message: "Invalid JWT" });
        }
      }
      // Inside the function the path starts with the function's name, as when hosted.
      return await forward(
        request,
        `${target.url}/${name}${rest}${url.search}`,
        new Headers(request.headers),
      );
    }

    if (url.pathname === "/" || url.pathname === "/health") {
      return json(200, { status: "ok", functions: [...routes.functions.keys()] });
    }
    return json(404, { message: "no Route matched with those values" });
  };
}

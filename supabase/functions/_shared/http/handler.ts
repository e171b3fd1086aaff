// How every function answers: JSON bodies, zod-parsed requests, errors mapped once
// (http/errors.ts), and for functions a browser calls, CORS: the preflight answered with
// Supabase's canonical headers (the ones supabase-js sends) and every answer, errors included,
// carrying them. Webhook receivers do not enable CORS: no browser calls them.
import { z } from "zod";
import { corsHeaders } from "@supabase/supabase-js/cors";
import { HttpError, toHttpError } from "./errors.ts";

export { HttpError } from "./errors.ts";

// Cross-origin callers see only CORS-safelisted answer headers unless told otherwise; a caller
// that was rate limited needs Retry-After to know when to try again.
const EXPOSED_HEADERS = { "Access-Control-Expose-Headers": "retry-after" };

export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Parses a JSON body against a schema; anything else is a 400 that changes nothing. */
export async function parseJsonBody<T extends z.ZodType>(
  request: Request,
  schema: T,
): Promise<z.infer<T>> {
  let body: unknown;
  const text = await request.text();
  try {
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(
      400,
      "invalid_request",
      "The request body does not match the expected shape.",
      parsed.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
    );
  }
  return parsed.data;
}

export function requireMethod(request: Request, ...methods: string[]) {
  if (!methods.includes(request.method)) {
    throw new HttpError(405, "method_not_allowed", `Use ${methods.join(" or ")}.`, undefined, {
      allow: methods.join(", "),
    });
  }
}

export interface HandleOptions {
  /** Answer CORS preflights and add CORS headers to every answer (browser-called functions). */
  cors?: boolean;
}

/**
 * Wraps a handler: known errors become their status with `{ error, message, details? }`,
 * anything unexpected becomes a 500 that is logged with the function's name (never the
 * request's secrets).
 */
export function handle(
  functionName: string,
  handler: (request: Request) => Promise<Response>,
  options: HandleOptions = {},
): (request: Request) => Promise<Response> {
  const withCors = (response: Response): Response => {
    if (!options.cors) return response;
    for (const [name, value] of Object.entries({ ...corsHeaders, ...EXPOSED_HEADERS })) {
      response.headers.set(name, value);
    }
    return response;
  };
  return async (request) => {
    if (options.cors && request.method === "OPTIONS") {
      return withCors(new Response("ok", { status: 200 }));
    }
    try {
      return withCors(await handler(request));
    } catch (error) {
      const answer = toHttpError(error);
      if (answer) {
        if (answer.status >= 500) console.error(`[${functionName}] ${answer.code}:`, error);
        return withCors(json(
          { error: answer.code, message: answer.message, details: answer.details },
          answer.status,
          answer.headers,
        ));
      }
      console.error(`[${functionName}] unexpected error:`, error);
      return withCors(
        json({ error: "internal_error", message: "Something went wrong on our side." }, 500),
      );
    }
  };
}

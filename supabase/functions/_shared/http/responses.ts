// How every function answers: JSON bodies, and one error type that carries its HTTP status, so
// handlers throw what went wrong and the wrapper maps it to a clear answer.
import { z } from "zod";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

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

/**
 * Wraps a handler: HttpErrors become their status with `{ error, message, details? }`, anything
 * unexpected becomes a 500 that is logged with the function's name (never the request's secrets).
 */
export function handle(
  functionName: string,
  handler: (request: Request) => Promise<Response>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      if (error instanceof HttpError) {
        return json(
          { error: error.code, message: error.message, details: error.details },
          error.status,
        );
      }
      console.error(`[${functionName}] unexpected error:`, error);
      return json({ error: "internal_error", message: "Something went wrong on our side." }, 500);
    }
  };
}

export function requireMethod(request: Request, ...methods: string[]) {
  if (!methods.includes(request.method)) {
    throw new HttpError(405, "method_not_allowed", `Use ${methods.join(" or ")}.`);
  }
}

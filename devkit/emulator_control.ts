// One way to call an emulator's control API (`<emulator>/__emulator<path>`): a JSON body in
// (POST when there is one, GET otherwise, or the method given), the JSON answer out, and any
// non-2xx answer thrown with its status and text. Every emulator serves the same control
// shape, so the per-emulator helpers (devkit/google.ts, calendly.ts, notion.ts and the unit
// tests' in-process emulators) only name their emulator.
export async function callEmulatorControl<T = Record<string, unknown>>(
  label: string,
  baseUrl: string,
  path: string,
  body?: unknown,
  method = body === undefined ? "GET" : "POST",
): Promise<T> {
  const response = await fetch(`${baseUrl}/__emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${label} ${method} ${path} → ${response.status}: ${text}`);
  return text ? JSON.parse(text) : ({} as T);
}

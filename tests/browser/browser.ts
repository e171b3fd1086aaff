// Headless Chromium for the browser tests: Debian's `chromium` (the driver never downloads a
// browser of its own), driven by playwright-core, which runs under Deno. Also a second static
// server on another port, so the page is served from an origin other than the API's (every call
// it makes is then a real cross-origin request), and the screenshots kept as test artefacts.
import { type Browser, chromium, type Page } from "playwright-core";
import { serveStaticFile, type StaticMount } from "../../stack/static_files.ts";
import { stack, type TestUser } from "../../devkit/stack.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const ARTIFACTS = `${ROOT}/tests/browser/artifacts`;

/** Flags that work on this kind of machine (root, no GPU, no network beyond loopback). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
}

/** A page with the browser's console errors and uncaught exceptions collected. */
export async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 1000 },
    // Not the planning zone (UTC): the page must draw the week in the user's zone anyway.
    timezoneId: "America/New_York",
    locale: "en-US",
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  return { page, errors };
}

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

/** The project's web/ folder (status page and bundle) on another port of 127.0.0.1. */
export function serveWebElsewhere(): StaticServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const segments = new URL(request.url).pathname.split("/").slice(1);
    let mount: StaticMount | null = null;
    let rest: string[] = [];
    if (segments[0] === "status") [mount, rest] = ["status", segments.slice(1)];
    if (segments[0] === "web" && segments[1] === "dist") {
      [mount, rest] = ["dist", segments.slice(2)];
    }
    const answer = mount && await serveStaticFile(request, `${ROOT}/web`, mount, rest);
    return answer ?? new Response("not found", { status: 404 });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** The status page at `origin`, signed in as `user` (the local stack's sign-in: a minted JWT). */
export function statusPageUrl(origin: string, user: TestUser | null, extra = ""): string {
  const fragment = new URLSearchParams({
    supabase_url: stack.apiUrl,
    anon_key: stack.anonKey,
    ...(user ? { access_token: user.jwt } : {}),
  });
  return `${origin}/status/#${fragment}${extra}`;
}

/** Saves a full-page screenshot as tests/browser/artifacts/<name>.png. */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

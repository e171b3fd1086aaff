// The demo's last scene: the status page as the demo user sees it. The local stack has no Auth
// server, so the page is signed in the way the tests sign users in: a JWT minted with the
// stack's secret, handed over in the address's fragment. A screenshot goes to
// demo/out/status.png; with KEEP=1 (the stack stays up) the address is printed to open.
import { stack, type TestUser } from "../devkit/stack.ts";
import { signUserToken } from "../stack/keys.ts";
import { launchBrowser, openPage, statusPageUrl } from "../tests/browser/browser.ts";

const OUT = new URL("./out/", import.meta.url).pathname;
/** The printed address keeps working for a week of KEEP=1. */
const LINK_LIFETIME_SECONDS = 7 * 86_400;

export async function showStatusPage(user: TestUser): Promise<void> {
  const jwt = await signUserToken(user.id, stack.jwtSecret, {
    email: user.email,
    expiresInSeconds: LINK_LIFETIME_SECONDS,
  });
  const url = statusPageUrl(stack.apiUrl, { ...user, jwt });
  const browser = await launchBrowser();
  try {
    const { page } = await openPage(browser);
    await page.goto(url);
    await page.locator("article[data-provider]").first().waitFor({ timeout: 15_000 });
    await page.locator("li[data-kind=block]").first().waitFor({ timeout: 15_000 });
    await Deno.mkdir(OUT, { recursive: true });
    await page.screenshot({ path: `${OUT}status.png`, fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(`  status page screenshot: demo/out/status.png`);
  if (Deno.env.get("KEEP") === "1") {
    console.log(`  open the status page, signed in as ${user.email}:\n    ${url}`);
  }
}

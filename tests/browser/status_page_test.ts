// The status page in headless Chromium, signed in as a user the way the local stack signs in
// (a minted JWT in the address's fragment), against the local stack and its emulators. The
// page is served from a second origin (every read and action is a real cross-origin request)
// except where a test says it uses the gateway's own /status/. Screenshots of each state are
// kept in tests/browser/artifacts/.
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { connectDb, eventually, stack } from "../../devkit/stack.ts";
import { emulator } from "../../devkit/google.ts";
import {
  addGoogleEvent,
  clientFor,
  createPlanner,
  daysFromToday,
  HOUR,
  type Sql,
} from "./fixtures.ts";
import {
  keepScreenshot,
  launchBrowser,
  openPage,
  serveWebElsewhere,
  statusPageUrl,
} from "./browser.ts";

/** The bound for a calendar change to show in the week. */
const CHANGE_SHOWS_WITHIN_MS = 5_000;
/** Loading the page and its first read. */
const LOAD_MS = 15_000;

function card(page: Page, providerName: string): Locator {
  return page.getByRole("article", { name: new RegExp(providerName) });
}

/** The instant a card's (or a calendar's) "Last sync" shows, from its <time datetime>. */
async function lastSync(scope: Locator): Promise<number> {
  const time = scope.locator("dt:text-is('Last sync') + dd time").first();
  return Date.parse((await time.getAttribute("datetime"))!);
}

async function withPlanner<T>(
  label: string,
  options: Parameters<typeof createPlanner>[2],
  run: (sql: Sql, planner: Awaited<ReturnType<typeof createPlanner>>) => Promise<T>,
): Promise<T> {
  const sql = connectDb();
  try {
    return await run(sql, await createPlanner(sql, label, options));
  } finally {
    await sql.end();
  }
}

Deno.test("signed in with Google and Calendly: both active with their last sync; Refresh now and Re-plan work from another origin", async () => {
  await withPlanner("page-active", { calendly: true }, async (_sql, planner) => {
    await clientFor(planner.user).replan();
    const browser = await launchBrowser();
    const elsewhere = serveWebElsewhere();
    try {
      const { page, errors } = await openPage(browser);
      await page.goto(statusPageUrl(elsewhere.origin, planner.user));
      await page.getByText(`Signed in as ${planner.user.email}`).waitFor({ timeout: LOAD_MS });

      const google = card(page, "Google Calendar");
      const calendly = card(page, "Calendly");
      await google.getByText("Active", { exact: true }).first().waitFor({ timeout: LOAD_MS });
      await calendly.getByText("Active", { exact: true }).first().waitFor();
      assert.equal(await google.getAttribute("data-status"), "active");
      assert.equal(await calendly.getAttribute("data-status"), "active");
      assert.ok(await lastSync(google) > 0, "Google's last sync is shown");
      assert.ok(await lastSync(calendly) > 0, "Calendly's last sync is shown");
      await google.getByText("Push channel").waitFor();
      await calendly.getByText("Receiving bookings").waitFor();
      await keepScreenshot(page, "01-active-google-and-calendly");

      // Refresh now (a cross-origin POST with the user's token): the last sync moves forward.
      const before = await lastSync(google);
      await page.getByRole("button", { name: "Refresh now" }).click();
      await page.getByRole("status").getByText(/^Refreshed 2 calendars/).waitFor({
        timeout: LOAD_MS,
      });
      await eventually(async () => await lastSync(google) > before, {
        timeoutMs: LOAD_MS,
        message: "a later last sync on Google's card",
      });
      await keepScreenshot(page, "02-after-refresh-now");

      // Re-plan from the keyboard: a real button, reachable and pressed without a mouse.
      await page.getByRole("button", { name: "Re-plan" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("status").getByText(/^(Nothing changed|Re-planned)/).waitFor({
        timeout: LOAD_MS,
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await elsewhere.close();
    }
  });
});

Deno.test("a Google meeting over a planned session shows as busy and the session's block moves within 5 s", async () => {
  await withPlanner("page-move", { sessions: 2 }, async (_sql, planner) => {
    await clientFor(planner.user).replan();
    const [session] = (await clientFor(planner.user).schedule(daysFromToday(7))).sessions;
    const browser = await launchBrowser();
    const elsewhere = serveWebElsewhere();
    try {
      const { page, errors } = await openPage(browser);
      await page.goto(statusPageUrl(elsewhere.origin, planner.user));
      const block = page.locator(`li[data-kind=block][data-session-id="${session.id}"]`);
      await block.waitFor({ timeout: LOAD_MS });
      const startsAt = (await block.getAttribute("data-starts-at"))!;
      const endsAt = (await block.getAttribute("data-ends-at"))!;
      assert.equal(Date.parse(startsAt), Date.parse(session.blocks[0].starts_at));
      await keepScreenshot(page, "03-week-before-the-meeting");

      await addGoogleEvent(
        planner.google!.account,
        "Surprise review",
        new Date(startsAt),
        new Date(endsAt),
      );
      const meeting = page.locator("li[data-kind=busy]", { hasText: "Surprise review" });
      await eventually(async () => {
        const shown = await meeting.count() === 1;
        const now = await block.getAttribute("data-starts-at", { timeout: 1_000 });
        return shown && now !== null && Date.parse(now) !== Date.parse(startsAt);
      }, {
        timeoutMs: CHANGE_SHOWS_WITHIN_MS,
        intervalMs: 100,
        message: "the meeting in the week and the session's block moved",
      });
      assert.match((await meeting.textContent())!, /Busy · Google Calendar/);
      assert.match((await block.textContent())!, /Moved/);
      await keepScreenshot(page, "04-meeting-moved-the-session");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await elsewhere.close();
    }
  });
});

Deno.test("a second user's connections, meetings and sessions never appear (page served by the gateway)", async () => {
  const sql = connectDb();
  const browser = await launchBrowser();
  try {
    const alice = await createPlanner(sql, "page-alice");
    const bob = await createPlanner(sql, "page-bob", { calendly: true });
    const start = new Date(daysFromToday(1).to.getTime() + 9 * HOUR);
    await addGoogleEvent(
      bob.google!.account,
      "Bob's private meeting",
      start,
      new Date(start.getTime() + HOUR),
    );
    await clientFor(bob.user).replan();
    await clientFor(alice.user).replan();

    const { page, errors } = await openPage(browser);
    await page.goto(statusPageUrl(stack.apiUrl, alice.user));
    await page.locator("li[data-kind=block]").first().waitFor({ timeout: LOAD_MS });
    // Let another read happen: nothing of Bob's may ever show up.
    const updated = page.locator(".freshness time");
    const firstRead = await updated.getAttribute("datetime");
    await eventually(async () => await updated.getAttribute("datetime") !== firstRead, {
      timeoutMs: LOAD_MS,
      message: "another read",
    });
    const text = (await page.locator("main").textContent())!;
    for (const title of alice.sessionTitles) assert.ok(text.includes(title), title);
    assert.ok(text.includes(alice.user.email));
    for (const secret of [bob.user.email, "Bob's private meeting", ...bob.sessionTitles]) {
      assert.ok(!text.includes(secret), `Bob's "${secret}" is on Alice's page`);
    }
    assert.equal(await page.locator("article[data-provider]").count(), 1);
    assert.equal(await page.locator("li[data-kind=busy]").count(), 0);
    await keepScreenshot(page, "05-only-the-signed-in-users-data");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await sql.end();
  }
});

Deno.test("a connection Google stopped accepting shows Needs re-auth with what to do; Disconnect asks first, then shows Revoked", async () => {
  await withPlanner("page-reauth", { calendly: true }, async (_sql, planner) => {
    const browser = await launchBrowser();
    const elsewhere = serveWebElsewhere();
    try {
      const { page, errors } = await openPage(browser);
      await page.goto(statusPageUrl(elsewhere.origin, planner.user));
      const google = card(page, "Google Calendar");
      await google.getByText("Active", { exact: true }).first().waitFor({ timeout: LOAD_MS });

      // The user removed the app's access in their Google account; the next sync finds out.
      await emulator("/refresh_tokens/revoke", {
        refresh_token: planner.google!.account.refresh_token,
      });
      await page.getByRole("button", { name: "Refresh now" }).click();
      await google.getByText("Needs re-auth").waitFor({ timeout: LOAD_MS });
      assert.equal(await google.getAttribute("data-status"), "needs_reauth");
      await google.getByText("Connect Google Calendar again").waitFor();
      await google.getByText(/no longer accepts this connection's authorisation/).first()
        .waitFor();

      // Disconnect asks first: dismissed, nothing changes; confirmed, the card says Revoked.
      const calendly = card(page, "Calendly");
      const disconnect = page.getByRole("button", {
        name: `Disconnect Calendly (${planner.calendly!.account.email})`,
      });
      const questions: string[] = [];
      page.once("dialog", (dialog) => {
        questions.push(dialog.message());
        dialog.dismiss();
      });
      await disconnect.click();
      await page.getByText("Nothing changed: the connection stays.").waitFor({ timeout: LOAD_MS });
      assert.match(questions[0], /^Disconnect Calendly \(.+\)\? .*removed/);
      assert.equal(await calendly.getAttribute("data-status"), "active");
      page.once("dialog", (dialog) => dialog.accept());
      await disconnect.click();
      await page.getByText(/^Disconnected Calendly: 1 calendar no longer synced/).waitFor({
        timeout: LOAD_MS,
      });
      await calendly.getByText("Revoked").waitFor({ timeout: LOAD_MS });
      assert.equal(await calendly.getAttribute("data-status"), "revoked");
      assert.equal(await calendly.getByRole("button", { name: /^Disconnect/ }).count(), 0);
      await keepScreenshot(page, "06-needs-reauth-and-revoked");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await elsewhere.close();
    }
  });
});

Deno.test("the bundled client in the browser, cross-origin: rate limited with Retry-After, not found, not signed in", async () => {
  await withPlanner("page-client", {}, async (_sql, planner) => {
    const browser = await launchBrowser();
    const elsewhere = serveWebElsewhere();
    try {
      const { page, errors } = await openPage(browser);
      // Without a session the page says so instead of showing an empty account.
      await page.goto(statusPageUrl(elsewhere.origin, null));
      await page.getByRole("alert").getByText(/not signed in/i).waitFor({ timeout: LOAD_MS });
      await keepScreenshot(page, "07-not-signed-in");

      const outcome = await page.evaluate(
        async ({ bundle, supabaseUrl, anonKey, accessToken }) => {
          const { createCalendarSyncClient } = await import(bundle);
          const client = createCalendarSyncClient({ supabaseUrl, anonKey, accessToken });
          const failure = async (call: () => Promise<unknown>) => {
            try {
              await call();
              return null;
            } catch (error) {
              const e = error as { name: string; kind: string; retryAfterSeconds: number | null };
              return { name: e.name, kind: e.kind, retryAfterSeconds: e.retryAfterSeconds };
            }
          };
          const first = await client.refreshNow({ force: true });
          return {
            first: first.calendars,
            limited: await failure(() => client.refreshNow({ force: true })),
            missing: await failure(() => client.disconnect(crypto.randomUUID())),
            anonymous: await failure(() =>
              createCalendarSyncClient({ supabaseUrl, anonKey }).status()
            ),
          };
        },
        {
          bundle: `${elsewhere.origin}/web/dist/calendar-sync-client.js`,
          supabaseUrl: stack.apiUrl,
          anonKey: stack.anonKey,
          accessToken: planner.user.jwt,
        },
      );
      assert.equal(outcome.first, 1);
      assert.equal(outcome.limited?.name, "CalendarSyncError");
      assert.equal(outcome.limited?.kind, "rate_limited");
      assert.ok(
        (outcome.limited?.retryAfterSeconds ?? 0) > 0,
        `Retry-After readable cross-origin: ${outcome.limited?.retryAfterSeconds}`,
      );
      assert.equal(outcome.missing?.kind, "not_found");
      assert.equal(outcome.anonymous?.kind, "not_signed_in");
      assert.deepEqual(errors.filter((error) => !/status of (404|429)/.test(error)), []);
    } finally {
      await browser.close();
      await elsewhere.close();
    }
  });
});

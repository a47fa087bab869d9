import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_REVIEW_TOKEN } from "../../bin/local/dev-secrets.js";
import { serveReview } from "../../bin/local/review-server.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import { tenant } from "../support/domain-builders.js";
import { AS_OF, episode, finalizerWorld, reviewServiceOf } from "../support/finalizer-world.js";

/**
 * The biller's page (issue 15) in a real headless browser: Debian's Chromium driven by playwright-core (no
 * browser download), against the page and API exactly as `npm start` serves them (bin/local/review-server.ts)
 * over DynamoDB Local, with the real finalizer. `.ci/run` installs Chromium; where none is installed the test is
 * skipped and says so.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `review page browser test skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );

const HOUR = 3_600_000;
const CONSENT_REQUIRED = { tenant: fixedTenantConfig(tenant({ consent: "required" })) };

describe.skipIf(!hasChromium)("review page in Chromium (issue 15)", () => {
  let browser: Browser;
  let server: Server;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it("lists the consent-missing episode, records the consent through the form, and the line it bills shows in its audit packet", async () => {
    // Prepare: p-page needs review (12 min by Dr Adams, no consent), decided at AS_OF; the page served as npm start does.
    const world = await finalizerWorld();
    let now = AS_OF + HOUR;
    const service = reviewServiceOf(world, CONSENT_REQUIRED.tenant, () => now);
    await world.seed(episode("p-page", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await world.run(AS_OF, CONSENT_REQUIRED);
    server = createServer((request, response) => {
      void serveReview(request, response, service, DEV_REVIEW_TOKEN);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const page = await browser.newPage();
    const scriptErrors: string[] = [];
    page.on("pageerror", (error) => scriptErrors.push(error.message));

    // Act: without the token the page says it is not authorized; with it, the item is listed.
    await page.goto(`${base}/review/`);
    await page.locator("#status.error").waitFor();
    const refused = await page.locator("#status").textContent();
    await page.fill("#token", DEV_REVIEW_TOKEN);
    await page.click("#token-form button[type=submit]");
    const row = page.locator("tr.item[data-patient=p-page]");
    await row.waitFor();
    const reasons = await row.locator(".reasons").textContent();
    // Resolve: record-consent dated in the prior year, by a named biller.
    await row.locator("select[name=action]").selectOption("record-consent");
    await row.locator("input[name=consentDate]").fill("2025-12-01");
    await row.locator("input[name=by]").fill("Pat Biller");
    await row.locator("button[type=submit]").click();
    await page.locator("#status.ok", { hasText: "Recorded" }).waitFor();
    // The next finalizer run decides the patient again and sends the line.
    now += HOUR;
    await world.run(now, CONSENT_REQUIRED);
    const [line] = await world.takeClaims();
    await page.fill("#claim-line-id", line?.claimLineId ?? "");
    await page.click("#audit-form button[type=submit]");
    await page.locator("#audit h3").waitFor();
    const audit = await page.locator("#audit").innerText();
    await page.click("#reload");
    await page.locator("#status.ok", { hasText: "0 open item(s)" }).waitFor();
    const capture = await page.locator("#figures .capture").textContent();

    // Assess
    expect(refused).toContain("Not authorized");
    expect(reasons).toBe("consent-missing");
    expect(line).toMatchObject({
      patientId: "p-page",
      action: "original",
      procedureCode: "99422",
      totalMinutes: 12,
    });
    expect(audit).toContain("99422");
    expect(audit).toContain("Pat Biller");
    expect(audit).toContain("record-consent");
    expect(capture).toContain("Capture rate: 100.0%");
    expect(scriptErrors).toEqual([]);
  });
});

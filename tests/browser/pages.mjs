// The pages as people see them: an emailed link's page in English and Korean, at a
// 320 px phone's width and a desktop's, light and dark, with JavaScript off; checked
// by axe-core (no serious or critical violation) and saved as screenshots into
// SCREENSHOTS for a person to look at. Run by main.mjs.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

import { mailTo } from "./mail.mjs";

const base = process.env.SESAME_URL;
const shots = process.env.SCREENSHOTS || "screenshots";
const axeSource = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const views = [
  { name: "phone", viewport: { width: 320, height: 640 }, colorScheme: "light" },
  { name: "desktop", viewport: { width: 1280, height: 800 }, colorScheme: "dark" },
];

// axe-core's serious and critical findings on `page`, run in a copy of the page that
// allows the injected script (the pages themselves forbid every script).
async function violations(browser, url, locale) {
  const context = await browser.newContext({ bypassCSP: true, locale });
  const page = await context.newPage();
  await page.goto(url);
  await page.addScriptTag({ path: axeSource });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  });
  await context.close();
  return found;
}

// Every view of `url` in `locale`, saved as NAME-LOCALE-VIEW.png; axe-core on each.
async function look(browser, url, locale, name) {
  for (const view of views) {
    const context = await browser.newContext({ ...view, locale, javaScriptEnabled: false });
    const page = await context.newPage();
    const response = await page.goto(url);
    assert.ok(response.status() < 500, `${url}: ${response.status()}`);
    assert.equal(await page.getAttribute("html", "lang"), locale);
    await page.screenshot({ path: join(shots, `${name}-${locale}-${view.name}.png`), fullPage: true });
    await context.close();
  }
  assert.deepEqual(await violations(browser, url, locale), [], `${name} in ${locale}`);
}

export async function pages(browser) {
  mkdirSync(shots, { recursive: true });
  const email = `pages-${Date.now()}@example.com`;
  const registered = await fetch(`${base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "correct horse battery staple" }),
  });
  assert.equal(registered.status, 201);
  const link = (await mailTo(email)).match(/http:\/\/localhost:\d+\/ui\/verify-email\?token=[\w-]+/)[0];

  for (const locale of ["en", "ko"]) {
    await look(browser, link, locale, "verify-email");
    await look(browser, `${base}/ui/reset-password?token=incomplete`, locale, "link-incomplete");
  }

  // Korean by the browser's language, English by the picker, with JavaScript off;
  // then the button, which verifies the address.
  const context = await browser.newContext({ locale: "ko-KR", javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(link);
  assert.equal(await page.textContent("h1"), "이메일 주소 인증");
  await page.click("text=English");
  assert.equal(page.url(), link);
  assert.equal(await page.textContent("h1"), "Verify your email address");
  await page.click("button[type=submit]");
  assert.match(await page.textContent("main"), /is verified/);
  await page.screenshot({ path: join(shots, "verified-en-desktop.png") });
  await context.close();
  await look(browser, `${base}/ui/lang`, "ko", "language");
  console.log(`browser pages: two languages, two widths, axe-core clean, screenshots in ${shots}: ok`);
}

// Telephony as an agent meets it: an admin connects the PBX (its signing secret shown once); a
// customer's call rings and the workspace shows who calls with their open case; a missed call
// becomes an urgent call-back case in the inbox.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";

let opora, chrome;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
});
after(() => shutdown(chrome, opora));

/** Standard Webhooks, as a PBX script signs Opora's call events. */
async function push(url, secret, event) {
  const body = JSON.stringify(event);
  const id = `call_${Date.now()}_${Math.random().toString(36).slice(2)}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "webhook-id": id,
    "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` } });
}

test("a ringing call shows the caller and their open case; a missed call becomes a call-back case", async () => {
  const page = await signIn(chrome, opora, { email: "admin@e2e.test", password: "admin-password-1" });
  await page.goto(`${opora.base}/admin/channels`);
  const form = "form[data-api='POST /api/v1/channels']:has(input[value=phone])";
  await page.fill("#phone-new-name", "АТС");
  await page.selectOption("#phone-new-provider", "generic");
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`${form} [data-generated-secret]:not([hidden])`);
  const secret = (await page.textContent(`${form} [data-generated-secret]`)).match(/whsec_[A-Za-z0-9+/=]+/)?.[0];
  assert.ok(secret, "the signing secret is shown once");
  await page.reload();
  const callback = (await page.textContent("tr[data-channel='АТС'] [data-inbound-url]")).trim();

  const customer = await opora.api("POST", "/api/v1/customers", { name: "Ирина Звонарёва", identities: [{ kind: "phone", value: "+79165554433" }] });
  const open = await opora.api("POST", "/api/v1/cases", { subject: "Сломался пылесос", customer: { id: customer.id } });
  await page.goto(`${opora.base}/inbox/open`);
  assert.equal((await push(callback, secret, { id: "c1", state: "ringing", customer: "+79165554433" })).status, 200);
  const card = await page.waitForSelector(".call-card", { timeout: 15000 });
  assert.match(await card.textContent(), /Звонит Ирина Звонарёва \+79165554433/);
  assert.equal(await page.getAttribute(".call-card a", "href"), `/cases/${open.id}`);
  await screenshot(page, "call-card-ru");
  await page.click(".call-card button");
  assert.equal(await page.locator(".call-card").count(), 0);

  assert.equal((await push(callback, secret, { id: "c1", state: "missed", customer: "+79165554433" })).status, 200);
  await page.reload();
  await page.waitForSelector("text=Перезвонить / Call back: +79165554433");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

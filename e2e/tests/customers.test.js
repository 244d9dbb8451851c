// One customer across channels, as a supervisor sees it: the same person writes by e-mail and
// from Telegram; the case page offers the other record as possibly the same person; after the
// merge both histories are one customer's, and the reply goes out through Telegram, where they
// wrote last.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";
import { startBotApi } from "./emulators.js";

const TOKEN = "110201544:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
let opora, chrome, bot;

before(async () => {
  bot = await startBotApi(TOKEN);
  opora = await Opora.start({ lmtp: true, settings: { OPORA_WEBHOOKS_ALLOW_INTERNAL: "true" } });
  chrome = await browser();
  await opora.api("POST", "/api/v1/channels", { kind: "telegram", name: "Бот", settings: { bot_token: TOKEN, api_base_url: bot.base } });
});
after(() => shutdown(chrome, opora, bot.server));

async function caseOf(channel) {
  for (let i = 0; i < 100; i++) {
    const found = (await opora.api("GET", "/api/v1/cases")).items.find((c) => c.channel === channel);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${channel} case`);
}

test("the same person by e-mail and Telegram becomes one customer; the reply goes where they wrote last", async () => {
  const mail = ["From: =?utf-8?b?" + Buffer.from("Светлана Ким").toString("base64") + "?= <sveta@example.ru>", "To: support@localhost",
    "Subject: =?utf-8?b?" + Buffer.from("Возврат за разбитую вазу").toString("base64") + "?=", "Date: Mon, 07 Dec 2026 10:00:00 +0300",
    "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "Message-ID: <vase-1@example.ru>", "",
    "Курьер привёз разбитую вазу, прошу вернуть деньги.", ""].join("\r\n");
  await opora.deliver("support@localhost", mail);
  const byMail = await caseOf("email");
  bot.write(5150, "Светлана Ким", "Я писала вам на почту про вазу, ответьте, пожалуйста", 31);
  const byTelegram = await caseOf("telegram");
  assert.notEqual(byMail.customer.id, byTelegram.customer.id, "two records at first");

  const page = await signIn(chrome, opora, { email: "admin@e2e.test", password: "admin-password-1" });
  await page.goto(`${opora.base}/cases/${byMail.id}`);
  await page.waitForSelector("[data-similar]");
  assert.match(await page.textContent("[data-similar]"), /Светлана Ким[\s\S]*Telegram: 5150/);
  await Promise.all([page.waitForNavigation(), page.click(`[data-merge="${byTelegram.customer.id}"]`)]);
  const panel = await page.textContent(".customer-panel");
  assert.match(panel, /sveta@example\.ru/);
  assert.match(panel, /5150/);
  assert.match(panel, /Я писала вам на почту|Возврат за разбитую вазу/, "both histories are the customer's");
  assert.equal(await page.locator("[data-similar]").count(), 0);

  // Telegram is where she wrote last: the reply goes there (this mailbox has no SMTP server, so
  // e-mail is not offered as another way).
  assert.equal(await page.locator("#reply-via").count(), 0);
  await page.fill("#composer-body", "Светлана, деньги за вазу вернём сегодня.");
  await page.click("#composer-send");
  await page.waitForSelector(".message-outbound [data-delivery=sent]", { timeout: 15000 });
  assert.match(await page.textContent(".message-outbound"), /Telegram/);
  assert.deepEqual([bot.sent[0].chat_id, bot.sent[0].text], ["5150", "Светлана, деньги за вазу вернём сегодня."]);
  await screenshot(page, "merged-customer-ru");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// A Telegram bot as a team sets it up and works with it: an admin connects the bot in Settings →
// Channels (a bad token is named; the token is never shown back), a customer's message pulled by
// long polling becomes a case, and the agent's answer from the workspace reaches the chat.
// Telegram is a local Bot API following its documented contract.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";
import { startBotApi } from "./emulators.js";

const TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
let opora, chrome, botApi;

before(async () => {
  botApi = await startBotApi(TOKEN);
  opora = await Opora.start({ settings: { OPORA_WEBHOOKS_ALLOW_INTERNAL: "true" } });
  chrome = await browser();
});
after(() => shutdown(chrome, opora, botApi.server));

test("an admin connects a Telegram bot; a customer's message becomes a case and the agent's answer reaches the chat", async () => {
  const page = await signIn(chrome, opora, { email: "admin@e2e.test", password: "admin-password-1" });
  await page.goto(`${opora.base}/admin/channels`);
  const form = "form[data-api='POST /api/v1/channels']:has(input[value=telegram])";
  await page.fill("#telegram-new-name", "Бот доставки");
  await page.fill("#telegram-new-bot_token", "not a token");
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`${form} [data-error-for=bot_token]:not(:empty)`);
  assert.ok((await page.textContent(`${form} [data-error-for=bot_token]`)).trim().length > 0, "a bad token is named");

  await page.fill("#telegram-new-bot_token", TOKEN);
  await page.fill("#telegram-new-api_base_url", botApi.base);
  await page.click(`${form} button[type=submit]`);
  const row = "tr[data-channel='Бот доставки']";
  await page.waitForSelector(row);
  assert.match(await page.textContent(row), /Telegram[\s\S]*110201543[\s\S]*опрос/);
  assert.doesNotMatch(await page.content(), /AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/, "the token is never shown back");
  await page.click(`${row} [data-channel-check]`);
  await page.waitForSelector(`${row} [data-check-result] li.check-ok`);
  await screenshot(page, "channels-telegram-ru");

  botApi.write(4242, "Светлана", "Курьер опаздывает на час, заказ 1187", 10);
  let caseId;
  for (let i = 0; i < 100 && !caseId; i++) {
    const cases = await opora.api("GET", "/api/v1/cases");
    caseId = cases.items.find((c) => c.channel === "telegram")?.id;
    if (!caseId) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(caseId, "the message became a case");
  await page.goto(`${opora.base}/cases/${caseId}`);
  assert.match(await page.textContent(".thread"), /Курьер опаздывает на час/);
  assert.match(await page.textContent(".message-inbound [data-channel=telegram]"), /Telegram/);
  assert.match(await page.textContent("main"), /Светлана/);
  await page.fill("#composer-body", "Светлана, курьер будет через 20 минут. Приносим извинения.");
  await page.click("#composer-send");
  await page.waitForSelector(".message-outbound [data-delivery=sent]", { timeout: 15000 });
  assert.deepEqual([botApi.sent[0].chat_id, botApi.sent[0].text], ["4242", "Светлана, курьер будет через 20 минут. Приносим извинения."]);
  await screenshot(page, "case-telegram-ru");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// Channels as an admin sees them: every connection in one list with its state, an external
// system connected over the API with its secret shown once, its customer's message becoming a
// case, and the agent's reply arriving at the system signed and marked delivered.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";

let opora, chrome, admin, receiver;
const received = [];
before(async () => {
  // The external system: records what Opora posts and answers 200.
  receiver = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => { received.push({ headers: request.headers, body }); response.end("ok"); });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  opora = await Opora.start({ settings: { OPORA_WEBHOOKS_ALLOW_INTERNAL: "true" } });
  chrome = await browser();
  admin = { email: "admin@e2e.test", password: "admin-password-1" };
});
after(() => shutdown(chrome, opora, receiver));

/** Standard Webhooks: HMAC-SHA256 over `id.timestamp.body` with the secret's decoded key. */
function signature(secret, id, timestamp, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
}

async function push(url, secret, payload) {
  const body = JSON.stringify(payload);
  const id = `msg_${Date.now()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp),
               "webhook-signature": `v1,${signature(secret, id, timestamp, body)}` },
    body,
  });
  return { status: response.status, data: await response.json() };
}

test("an admin connects a system over the API; its customer's message becomes a case and the reply goes back signed", async () => {
  const page = await signIn(chrome, opora, admin);
  await page.goto(`${opora.base}/admin/channels`);
  assert.match(await page.textContent("tr[data-channel=default]"), /Почта[\s\S]*support@localhost/, "the default mailbox is a channel");

  const form = "form[data-api='POST /api/v1/channels']";
  await page.fill("#channel-new-name", "CRM");
  await page.fill("#channel-new-url", "ftp://crm.example.ru");
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`${form} [data-error-for=url]:not(:empty)`);
  assert.ok((await page.textContent(`${form} [data-error-for=url]`)).trim().length > 0, "a bad reply address is named");

  await page.fill("#channel-new-url", `http://127.0.0.1:${receiver.address().port}/opora`);
  await page.selectOption("#channel-new-policy", "new_after_solved");
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`${form} [data-generated-secret]:not([hidden])`);
  const shown = await page.textContent(`${form} [data-generated-secret]`);
  const secret = shown.match(/whsec_[A-Za-z0-9+/=]+/)?.[0];
  const inbound = shown.match(/http:\/\/\S+\/inbound/)?.[0];
  assert.ok(secret && inbound, `the secret and the inbound address are shown once: ${shown}`);
  await page.reload();
  const row = "tr[data-channel=CRM]";
  assert.equal((await page.textContent(`${row} [data-inbound-url]`)).trim(), inbound);
  assert.doesNotMatch(await page.textContent("main"), /whsec_/, "the secret is never shown again");
  await screenshot(page, "channels-ru");

  // The receiver answers, so the check passes.
  await page.click(`${row} [data-channel-check]`);
  await page.waitForSelector(`${row} [data-check-result] li.check-ok`);
  assert.match(await page.textContent(`${row} [data-check-result]`), /WEBHOOK: соединение есть/);

  // The system posts its customer's message.
  const forged = await push(inbound, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", { type: "message.created", data: {} });
  assert.equal(forged.status, 401);
  const message = { type: "message.created",
    data: { id: "crm-msg-1", conversation: "order-77", customer: { id: "client-9", name: "Олег Заказов" }, text: "Где мой заказ №77?" } };
  const filed = await push(inbound, secret, message);
  assert.equal(filed.status, 201, JSON.stringify(filed.data));

  await page.goto(`${opora.base}/cases/${filed.data.case_id}`);
  assert.match(await page.textContent(".thread"), /Где мой заказ №77\?/);
  assert.match(await page.textContent("main"), /Олег Заказов/);
  received.length = 0;
  await page.fill("#composer-body", "Заказ приедет завтра до полудня.");
  await page.click("#composer-send");
  await page.waitForSelector(".message-outbound [data-delivery=sent]", { timeout: 15000 });
  const reply = received.find((r) => JSON.parse(r.body).type === "message.created");
  assert.ok(reply, "the reply reached the system");
  const [, expected] = reply.headers["webhook-signature"].split(",");
  const computed = signature(secret, reply.headers["webhook-id"], reply.headers["webhook-timestamp"], reply.body);
  assert.ok(timingSafeEqual(Buffer.from(expected), Buffer.from(computed)), "the reply is signed with the channel's secret");
  const data = JSON.parse(reply.body).data;
  assert.deepEqual([data.customer.id, data.conversation, data.text], ["client-9", "order-77", "Заказ приедет завтра до полудня."]);

  // The system reports the reply read: the thread says so.
  const read = await push(inbound, secret, { type: "message.status", data: { message_id: data.id, status: "read" } });
  assert.ok([200, 201].includes(read.status), JSON.stringify(read.data));
  await page.waitForSelector(".message-outbound [data-delivery=read]", { timeout: 15000 });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("the channels page reads in English, and switching a channel off shows it", async () => {
  const created = await opora.api("POST", "/api/v1/channels", { kind: "api", name: "Shop" });
  const page = await signIn(chrome, opora, admin, { locale: "en-US" });
  await page.click(".usermenu summary");
  await Promise.all([page.waitForURL("**/me"), page.click(".usermenu button[data-language=en]")]);
  await page.goto(`${opora.base}/admin/channels`);
  const row = "tr[data-channel=Shop]";
  assert.match(await page.textContent(row), /API[\s\S]*receive only/);
  const edit = `form[data-api='PATCH /api/v1/channels/${created.id}']`;
  await page.click(`tr.mailbox-edit:has(${edit}) summary`);
  await page.uncheck(`${edit} input[name=active]`);
  await Promise.all([page.waitForNavigation(), page.click(`${edit} button[type=submit]`)]);
  assert.match(await page.textContent(row), /off/);
  const changed = await opora.api("GET", `/api/v1/channels/${created.id}`);
  assert.deepEqual([changed.active, changed.settings.conversation_policy], [false, "ongoing"]);
  await page.click(`${row} [data-channel-check]`);
  await page.waitForSelector(`${row} [data-check-result] li:not(:has-text('Checking'))`);
  assert.match(await page.textContent(`${row} [data-check-result]`), /Nothing to check/);
  await screenshot(page, "channels-en");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

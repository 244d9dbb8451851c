// WhatsApp Business as a team works with it: an admin connects the number in Settings →
// Channels, Meta's verification request is answered, a customer's signed message becomes a
// case, and once 24 hours have passed the composer offers only approved templates, asks for
// their variables, shows what the customer will read and sends the template. Meta's Graph API
// is a local server following its documented contract.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";

const TOKEN = "EAAG-e2e-token";
const APP_SECRET = "e2e_app_secret";
const VERIFY = "verify-me-e2e";
const PHONE_ID = "123456789012345";
const WABA = "987654321098765";
let opora, chrome, graph;
const sent = [];

/** Just enough Graph API: send a message, the number, the approved templates. */
function startGraph() {
  return http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      response.setHeader("content-type", "application/json");
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        response.statusCode = 401;
        return response.end(JSON.stringify({ error: { message: "Invalid OAuth access token", code: 190 } }));
      }
      const path = request.url.split("?")[0];
      if (path === `/v23.0/${PHONE_ID}/messages`) {
        sent.push(JSON.parse(body));
        return response.end(JSON.stringify({ messaging_product: "whatsapp", messages: [{ id: `wamid.OUT${sent.length}` }] }));
      }
      if (path === `/v23.0/${WABA}/message_templates`) {
        return response.end(JSON.stringify({ data: [{ name: "order_update", language: "ru", status: "APPROVED",
          components: [{ type: "BODY", text: "Заказ {{1}}: {{2}}" }] }] }));
      }
      return response.end(JSON.stringify({ id: PHONE_ID, display_phone_number: "+7 495 000-00-00" }));
    });
  });
}

async function pushSigned(url, payload) {
  const body = JSON.stringify(payload);
  const signature = "sha256=" + createHmac("sha256", APP_SECRET).update(body).digest("hex");
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": signature }, body });
}

before(async () => {
  graph = startGraph();
  await new Promise((resolve) => graph.listen(0, "127.0.0.1", resolve));
  opora = await Opora.start({ settings: { OPORA_WEBHOOKS_ALLOW_INTERNAL: "true" } });
  chrome = await browser();
});
after(() => shutdown(chrome, opora, graph));

test("an admin connects WhatsApp; after 24 hours the agent answers with an approved template", async () => {
  const page = await signIn(chrome, opora, { email: "admin@e2e.test", password: "admin-password-1" });
  await page.goto(`${opora.base}/admin/channels`);
  const form = "form[data-api='POST /api/v1/channels']:has(input[value=whatsapp])";
  await page.fill("#whatsapp-new-name", "WhatsApp доставки");
  await page.fill("#whatsapp-new-phone_number_id", PHONE_ID);
  await page.fill("#whatsapp-new-access_token", TOKEN);
  await page.fill("#whatsapp-new-app_secret", APP_SECRET);
  await page.fill("#whatsapp-new-verify_token", VERIFY);
  await page.fill("#whatsapp-new-business_account_id", WABA);
  await page.fill("#whatsapp-new-api_base_url", `http://127.0.0.1:${graph.address().port}`);
  await page.click(`${form} button[type=submit]`);
  const row = "tr[data-channel='WhatsApp доставки']";
  await page.waitForSelector(row);
  const callback = (await page.textContent(`${row} [data-inbound-url]`)).trim();
  assert.match(callback, /\/hooks\/whatsapp\/\d+$/);
  assert.doesNotMatch(await page.content(), new RegExp(`${TOKEN}|${APP_SECRET}|${VERIFY}`), "no secret is shown back");

  // Meta checks the callback address with our verify token.
  const challenge = await fetch(`${callback}?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=4242`);
  assert.equal(await challenge.text(), "4242");

  const message = { object: "whatsapp_business_account", entry: [{ id: WABA, changes: [{ field: "messages", value: {
    messaging_product: "whatsapp", metadata: { display_phone_number: "74950000000", phone_number_id: PHONE_ID },
    contacts: [{ profile: { name: "Алина" }, wa_id: "79161112233" }],
    messages: [{ from: "79161112233", id: "wamid.IN1", timestamp: "1763823845", type: "text", text: { body: "Заказ 5521 не пришёл" } }] } }] }] };
  assert.equal((await pushSigned(callback, message)).status, 200);
  const cases = await opora.api("GET", "/api/v1/cases");
  const caseId = cases.items.find((c) => c.channel === "whatsapp").id;
  await page.goto(`${opora.base}/cases/${caseId}`);
  assert.match(await page.textContent(".message-inbound"), /Заказ 5521 не пришёл[\s\S]*|WhatsApp/);
  await page.waitForSelector("[data-window-open]");

  // A day and an hour later.
  execFileSync("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('update messages set created_at = created_at - 90000000'); c.commit()",
    join(opora.dataDir, "opora.db")]);
  await page.reload();
  await page.waitForSelector("#reply-window");
  assert.ok(!(await page.isVisible("#composer-body")), "free text is not offered for a reply");
  await page.selectOption("#window-template", "0");
  await page.fill("#window-variable-1", "5521");
  await page.fill("#window-variable-2", "курьер выехал, будет в 15:00");
  assert.equal((await page.textContent("#window-preview")).trim(), "Заказ 5521: курьер выехал, будет в 15:00");
  await screenshot(page, "case-whatsapp-template-ru");
  await page.click("#composer-send");
  await page.waitForSelector(".message-outbound [data-delivery=sent]", { timeout: 15000 });
  assert.match(await page.textContent(".message-outbound"), /Заказ 5521: курьер выехал, будет в 15:00/);
  assert.deepEqual([sent[0].type, sent[0].to, sent[0].template.name, sent[0].template.components[0].parameters.map((p) => p.text)],
    ["template", "79161112233", "order_update", ["5521", "курьер выехал, будет в 15:00"]]);

  // A note still takes free text.
  await page.click("#tab-note");
  assert.ok(await page.isVisible("#composer-body"));
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("an admin connects a VK community; VK's confirmation and a customer's message arrive", async () => {
  const page = await signIn(chrome, opora, { email: "admin@e2e.test", password: "admin-password-1" });
  await page.goto(`${opora.base}/admin/channels`);
  const form = "form[data-api='POST /api/v1/channels']:has(input[value=vk])";
  await page.fill("#vk-new-name", "Сообщество");
  await page.fill("#vk-new-group_id", "club219000777");
  await page.fill("#vk-new-access_token", "vk1.a.e2e-token");
  await page.fill("#vk-new-secret", "e2e-secret");
  await page.fill("#vk-new-confirmation", "c0nf1rm");
  await page.click(`${form} button[type=submit]`);
  const row = "tr[data-channel='Сообщество']";
  await page.waitForSelector(row);
  assert.match(await page.textContent(row), /ВКонтакте[\s\S]*219000777/);
  const callback = (await page.textContent(`${row} [data-inbound-url]`)).trim();
  const post = (body) => fetch(callback, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(await (await post({ type: "confirmation", group_id: 219000777, secret: "e2e-secret" })).text(), "c0nf1rm");
  assert.equal((await post({ type: "message_new", group_id: 219000777, secret: "wrong", object: {} })).status, 401);
  const message = { type: "message_new", event_id: "e1", v: "5.199", group_id: 219000777, secret: "e2e-secret",
    object: { message: { id: 77, date: 1, peer_id: 5005, from_id: 5005, out: 0, conversation_message_id: 77, text: "Где мой промокод?", attachments: [] } } };
  assert.equal(await (await post(message)).text(), "ok");
  const cases = await opora.api("GET", "/api/v1/cases");
  const found = cases.items.find((c) => c.channel === "vk");
  await page.goto(`${opora.base}/cases/${found.id}`);
  assert.match(await page.textContent(".message-inbound"), /Где мой промокод\?/);
  assert.match(await page.textContent(".message-inbound [data-channel=vk]"), /ВКонтакте/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

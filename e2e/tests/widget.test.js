// The website chat as a shop's visitor and its support team see it: an admin adds the chat and
// the shop's address; a visitor on the shop's page (another origin) writes without signing in;
// an agent answers in the workspace and the visitor sees the answer appear; after a reload the
// conversation is still there. A page of a site that is not allowed gets nothing.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";

let opora, chrome, shop, channelId;

before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  // The shop: a page on its own origin carrying the one-line snippet.
  shop = http.createServer((request, response) => {
    response.setHeader("content-type", "text/html; charset=utf-8");
    response.end(`<!doctype html><html lang="ru"><head><title>Магазин</title></head><body><h1>Цветы с доставкой</h1>
      <script src="${opora.base}/widget.js" data-channel="${channelId}" async></script></body></html>`);
  });
  await new Promise((resolve) => shop.listen(0, "127.0.0.1", resolve));
});
after(() => shutdown(chrome, opora, shop));

async function visitorPage(url) {
  const context = await chrome.newContext({ locale: "ru-RU", viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(String(error)));
  await page.goto(url);
  return page;
}

test("a visitor writes from the shop's page, the agent answers, the visitor sees it live and after a reload", async () => {
  const agent = await signIn(chrome, opora, { email: "admin@e2e.test", password: "admin-password-1" });
  await agent.goto(`${opora.base}/admin/channels`);
  const form = "form[data-api='POST /api/v1/channels']:has(input[value=widget])";
  const shopOrigin = `http://127.0.0.1:${shop.address().port}`;
  await agent.fill("#widget-new-name", "Чат магазина");
  await agent.fill("#widget-new-allowed_origins", "ftp://nope");
  await agent.click(`${form} button[type=submit]`);
  await agent.waitForSelector(`${form} [data-error-for=allowed_origins]:not(:empty)`);
  await agent.fill("#widget-new-allowed_origins", shopOrigin);
  await agent.click(`${form} button[type=submit]`);
  const row = "tr[data-channel='Чат магазина']";
  await agent.waitForSelector(row);
  const snippet = await agent.textContent(`${row} [data-widget-snippet]`);
  channelId = Number(snippet.match(/data-channel="(\d+)"/)[1]);
  assert.match(snippet, new RegExp(`<script src="${opora.base}/widget.js" data-channel="${channelId}" async></script>`));

  const visitor = await visitorPage(`${shopOrigin}/`);
  await visitor.click("button.fab");
  await visitor.waitForSelector("section.panel:not([hidden]) li");
  await visitor.fill("textarea", "Здравствуйте! Можно доставить букет к 18:00?");
  await visitor.click("button.send");
  await visitor.waitForSelector("li.visitor >> text=Можно доставить букет");

  const cases = await opora.api("GET", "/api/v1/cases");
  const filed = cases.items.find((c) => c.channel === "widget");
  assert.ok(filed, "the visitor's message became a case");
  await agent.goto(`${opora.base}/cases/${filed.id}`);
  assert.match(await agent.textContent(".message-inbound"), /Можно доставить букет к 18:00\?/);
  await agent.fill("#composer-body", "Да, доставим к 18:00. Оформите заказ на сайте.");
  await agent.click("#composer-send");
  await agent.waitForSelector(".message-outbound [data-delivery=sent]", { timeout: 15000 });

  // The answer appears in the visitor's open chat without a reload.
  await visitor.waitForSelector("li.agent >> text=Да, доставим к 18:00", { timeout: 15000 });
  await screenshot(visitor, "widget-ru");
  await visitor.reload();
  await visitor.click("button.fab");
  await visitor.waitForSelector("li.agent >> text=Да, доставим к 18:00");
  assert.equal(await visitor.locator("li.visitor").count(), 1, "the conversation is there once after a reload");
  assert.deepEqual(visitor.errors, []);
  assert.deepEqual(agent.errors, []);

  // Another site's page may not use this chat.
  const stranger = await visitorPage(`http://localhost:${shop.address().port}/`);
  await stranger.click("button.fab");
  await stranger.waitForSelector("p[role=alert]:not([hidden])");
  assert.equal(await stranger.locator("li").count(), 0);
  const direct = await fetch(`${opora.base}/widget/${channelId}/visitors`, { method: "POST", headers: { origin: "https://evil.example" } });
  assert.equal(direct.status, 403);
  assert.equal(direct.headers.get("access-control-allow-origin"), null);
});

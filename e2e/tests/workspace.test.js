// Around the case: who else is looking (collision notice), what concerns me (notifications),
// and the admin pages where a team sets Opora up.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, shutdown, test } from "./harness.js";

let opora, chrome, first, second, admin;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  first = await opora.agent("Первая Сотрудница");
  second = await opora.agent("Второй Сотрудник", { language: "en" });
  admin = { email: "admin@e2e.test", password: "admin-password-1" };
});
after(() => shutdown(chrome, opora));

test("two agents on one case see each other, and who is typing", async () => {
  const kase = await opora.newCase("Столкновение");
  const one = await signIn(chrome, opora, first);
  const two = await signIn(chrome, opora, second, { locale: "en-US" });
  await one.goto(`${opora.base}/cases/${kase.id}`);
  await two.goto(`${opora.base}/cases/${kase.id}`);
  await one.waitForSelector("#collision:not([hidden])", { timeout: 15000 });
  assert.match(await one.textContent("#collision"), /Второй Сотрудник/);
  await two.fill("#composer-body", "Sorry for the wait");
  await one.waitForFunction(() => document.querySelector("#collision")?.textContent.includes("печатает"), null, { timeout: 15000 });
  await two.close();
  await one.context().close();
  await two.context().close();
});

test("the bell counts what concerns me and lists it", async () => {
  const kase = await opora.newCase("Мне назначили");
  const page = await signIn(chrome, opora, first);
  await page.goto(`${opora.base}/inbox/mine`);
  await opora.api("POST", `/api/v1/cases/${kase.id}/transfer`, { agent_id: first.id, reason: "Профильный вопрос" });
  await page.waitForFunction(() => document.querySelector("#unread")?.textContent === "1", null, { timeout: 10000 });
  await page.waitForSelector(`tr[data-case="${kase.id}"]`, { timeout: 10000 });
  await page.click("#bell");
  await page.waitForSelector("#notification-list li.unread");
  assert.match(await page.textContent("#notification-list"), /Вам передали обращение: #\d+ Мне назначили/);
  await page.click("#notification-list a");
  await page.waitForURL(`**/cases/${kase.id}`);
  await page.waitForFunction(() => document.querySelector("#unread")?.hidden === true, null, { timeout: 10000 });
  await page.context().close();
});

test("admin pages: an agent, a team, a field, a template, a token", async () => {
  const page = await signIn(chrome, opora, admin);
  await page.goto(`${opora.base}/admin/agents`);
  await page.fill("#new-agent-name", "Новенький");
  await page.fill("#new-agent-email", "не почта");
  await page.click("form[data-api='POST /api/v1/agents'] button[type=submit]");
  await page.waitForSelector("[data-error-for=email]:not(:empty)");
  assert.equal((await page.textContent("[data-error-for=email]")).trim(), "Некорректный адрес почты");
  await page.fill("#new-agent-email", "new@e2e.test");
  await page.click("form[data-api='POST /api/v1/agents'] button[type=submit]");
  await page.waitForSelector("[data-generated-password]:not([hidden])");
  const password = (await page.textContent("[data-generated-password] code")).trim();
  assert.ok(password.length >= 16, "the generated password is shown once");

  await page.goto(`${opora.base}/admin/teams`);
  await page.fill("#team-name", "Претензии");
  await page.check("input[name=member_ids] >> nth=0");
  await Promise.all([page.waitForNavigation(), page.click("form[data-api='POST /api/v1/teams'] button[type=submit]")]);
  assert.match(await page.textContent("table.grid"), /Претензии/);

  await page.goto(`${opora.base}/admin/fields`);
  await page.fill("#field-key", "city");
  await page.fill("#field-label-ru", "Город");
  await page.fill("#field-label-en", "City");
  await page.selectOption("#field-type", "select");
  await page.fill("#field-options", "msk=Москва|Moscow, spb=Санкт-Петербург|Saint Petersburg");
  await Promise.all([page.waitForNavigation(), page.click("form[data-api='POST /api/v1/custom-fields'] button[type=submit]")]);
  const fields = await opora.api("GET", "/api/v1/custom-fields");
  assert.deepEqual(fields[0].options.map((o) => o.label_en), ["Moscow", "Saint Petersburg"]);

  await page.goto(`${opora.base}/admin/templates`);
  await page.fill("#template-name", "Приветствие");
  await page.fill("#template-body", "Здравствуйте, {{customer.name}}!");
  await Promise.all([page.waitForNavigation(), page.click("form[data-api='POST /api/v1/reply-templates'] button[type=submit]")]);
  assert.match(await page.textContent(".template-list"), /Здравствуйте, \{\{customer\.name\}\}!/);

  await page.goto(`${opora.base}/admin/tokens`);
  await page.fill("#token-name", "CRM");
  await page.selectOption("#token-role", "viewer");
  await page.click("form[data-api='POST /api/v1/tokens'] button[type=submit]");
  await page.waitForSelector("[data-generated-token]:not([hidden])");
  const token = (await page.textContent("[data-generated-token] code")).trim();
  const me = await opora.api("GET", "/api/v1/me", undefined, token);
  assert.equal(me.role, "viewer", "the token works, with the role chosen");
  await page.context().close();

  const newcomer = await signIn(chrome, opora, { email: "new@e2e.test", password });
  await newcomer.goto(`${opora.base}/admin`);
  assert.match(newcomer.url(), /\/admin\/tokens$/, "an agent's settings start at their own tokens");
  await newcomer.goto(`${opora.base}/admin/agents`);
  assert.match(await newcomer.textContent("h1"), /Недостаточно прав/, "a forbidden page, in words, not JSON");
  await newcomer.context().close();
});

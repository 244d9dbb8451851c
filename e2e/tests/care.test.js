// The care loop in the browser: the customer's rating page on a phone in both languages (a
// tampered score refused, a second answer ignored), and the playbook checklist a low rating puts
// on the problem case, worked from the case page.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";

let opora, chrome, agent;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  agent = await opora.agent("Ирина Претензии");
});
after(() => shutdown(chrome, opora));

/** Pushes an order through to completion; resolves with the rating page's path. */
async function completed(externalId, customer) {
  await opora.api("PUT", `/api/v1/orders/${externalId}`, { customer, performer: { external_id: "p-7", name: "Анна" }, stage: "created" });
  const order = await opora.api("PUT", `/api/v1/orders/${externalId}`, { stage: "completed" });
  const messages = await opora.api("GET", `/api/v1/cases/${order.case_id}/messages`);
  const asked = messages.map((m) => m.body_text).find((text) => text.includes("/rate/"));
  assert.ok(asked, "the completion asks for a rating");
  return new URL(asked.match(/https?:\/\/\S+\/rate\/\S+/)[0]).pathname;
}

async function phone(locale) {
  const context = await chrome.newContext({ locale, viewport: { width: 390, height: 844 } });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(String(error)));
  return page;
}

test("a customer rates an order on a phone in Russian: a tampered score is refused, the answer counts once", async () => {
  const rate = await completed("CL-501", { email: "ivan@example.ru", name: "Иван" });
  const page = await phone("ru-RU");
  await page.goto(`${opora.base}${rate}`);
  assert.equal((await page.textContent("h1")).trim(), "Как прошёл заказ CL-501?");
  assert.match(await page.textContent("main"), /Исполнитель: Анна/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling: ${overflow}px`);
  await screenshot(page, "rate-ru-phone");

  // A score outside 1–5 (a tampered form) comes back with the error, the form kept.
  await page.evaluate(() => { const radio = document.querySelector("input[name=score]"); radio.value = "7"; radio.checked = true; });
  await page.fill("#comment", "Опоздали на час");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.match(await page.textContent(".error"), /Выберите оценку от 1 до 5/);
  assert.equal(await page.inputValue("#comment"), "Опоздали на час", "what was written stays");

  await page.check("input[name=score][value='2']");
  await page.check("input[name=reasons][value='late']");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal((await page.textContent("h1")).trim(), "Спасибо за оценку!");
  assert.match(await page.textContent("main"), /свяжемся с вами сегодня/);

  // Back to the form and sending again changes nothing.
  await page.goto(`${opora.base}${rate}`);
  assert.equal((await page.textContent("h1")).trim(), "Вы уже поставили оценку. Спасибо!");
  const problems = await opora.api("GET", "/api/v1/cases?kind=problem");
  assert.equal(problems.items.length, 1, "one problem case for one low rating");
  assert.equal(problems.items[0].playbook, "Опоздание исполнителя");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("an English-speaking customer gets the page in English and can switch to Russian", async () => {
  const customer = await opora.api("POST", "/api/v1/customers", { name: "Olga Brown", language: "en", identities: [{ kind: "email", value: "olga@example.com" }] });
  const rate = await completed("CL-502", { id: customer.id });
  const page = await phone("en-GB");
  await page.goto(`${opora.base}${rate}`);
  assert.equal((await page.textContent("h1")).trim(), "How did order CL-502 go?");
  await screenshot(page, "rate-en-phone");
  await Promise.all([page.waitForNavigation(), page.click("a[hreflang=ru]")]);
  assert.equal((await page.textContent("h1")).trim(), "Как прошёл заказ CL-502?");
  await page.check("input[name=score][value='5']");
  await page.check("input[name=favourite]");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal((await page.textContent("h1")).trim(), "Спасибо за оценку!");
  const standing = await opora.api("GET", "/api/v1/performers/p-7");
  assert.equal(standing.favourites, 1, "the favourite reached the performer");
  await page.context().close();
});

test("the owner of a problem case works its playbook's checklist on the case page", async () => {
  const problems = await opora.api("GET", "/api/v1/cases?kind=problem");
  const kase = problems.items[0];
  const page = await signIn(chrome, opora, agent);
  await page.goto(`${opora.base}/cases/${kase.id}`);
  assert.equal((await page.textContent("#playbook-title")).trim(), "Сценарий: Опоздание исполнителя");
  assert.match(await page.textContent("#playbook-progress"), /Выполнено 0 из 5/);
  await page.click("#take");
  await page.waitForFunction(() => document.querySelector("#owner-name")?.textContent.includes("Ирина Претензии"));
  await page.check("input[data-step='1']");
  await page.waitForFunction(() => document.querySelector("#playbook-progress")?.textContent.includes("Выполнено 1 из 5"));
  await page.waitForFunction(() => document.querySelector(".thread")?.textContent.includes("Отмечен шаг: Позвонить клиенту"));
  await page.click("[data-playbook-reply]");
  assert.match(await page.inputValue("#composer-body"), /Простите, что исполнитель опоздал/);
  await screenshot(page, "case-playbook");
  await page.reload();
  assert.equal(await page.isChecked("input[data-step='1']"), true, "the tick is saved");
  const worked = await opora.api("GET", `/api/v1/cases/${kase.id}/playbook`);
  assert.deepEqual(worked.steps.map((s) => s.done), [true, false, false, false, false]);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("over the limit an agent asks, and a supervisor approves on the approvals page", async () => {
  const kase = (await opora.api("GET", "/api/v1/cases?kind=problem")).items[0];
  const page = await signIn(chrome, opora, agent);
  await page.goto(`${opora.base}/cases/${kase.id}`);
  const grant = async (amount, ask) => {
    await page.fill("#grant-form input[name=amount]", amount);
    await page.fill("#grant-form input[name=note]", "Скидка за опоздание");
    if (ask) await page.check("#grant-form input[name=request_approval]");
    await page.click("#grant-form button[type=submit]");
  };
  await grant("500", false);
  await page.waitForFunction(() => document.querySelector(".ledger")?.textContent.includes("500"));
  await grant("300", true);
  await page.waitForSelector("[data-compensation-status=requested]");
  await page.context().close();

  const supervisor = await opora.agent("Олег Руководитель", { role: "supervisor" });
  const boss = await signIn(chrome, opora, supervisor);
  await boss.goto(`${opora.base}/approvals`);
  assert.equal((await boss.textContent("h1")).trim(), "Компенсации на одобрение");
  assert.match(await boss.textContent(".approvals-table"), new RegExp(`#${kase.number}[\\s\\S]*300[\\s\\S]*Ирина Претензии`));
  await boss.click("[data-approve]");
  await boss.waitForSelector(".approvals-table", { state: "detached" });
  assert.equal((await boss.textContent(".approvals p.muted")).trim(), "Ничего не ждёт одобрения");
  const spent = (await opora.api("GET", `/api/v1/cases/${kase.id}`)).compensation_spent;
  assert.equal(spent, "800.00", "approved, it counts");
  assert.deepEqual(boss.errors, []);
  await boss.context().close();
});

test("a customer confirms an extra service on a phone, and thanks reach the kudos wall", async () => {
  await opora.api("PUT", "/api/v1/orders/CL-503", { customer: { email: "vera@example.ru", name: "Вера" }, performer: { external_id: "p-9", name: "Светлана" }, stage: "in_progress" });
  await opora.api("POST", "/api/v1/orders/CL-503/extras", { description: "Мытьё окон", amount: { amount: "1200" } });
  const order = await opora.api("GET", "/api/v1/orders/CL-503");
  const messages = await opora.api("GET", `/api/v1/cases/${order.case_id}/messages`);
  const offer = messages.map((m) => m.body_text).find((text) => text.includes("/extra/"));
  const page = await phone("ru-RU");
  await page.goto(new URL(offer.match(/https?:\/\/\S+\/extra\/\S+/)[0]).href);
  assert.match(await page.textContent(".offer"), /Мытьё окон — 1\s200,00\s₽/);
  await Promise.all([page.waitForNavigation(), page.click("button[value=confirm]")]);
  assert.equal((await page.textContent("[role=status]")).trim(), "Спасибо! Сделаем.");
  assert.equal((await opora.api("GET", "/api/v1/orders/CL-503/extras"))[0].status, "confirmed");

  // The order is done; a 5 with a comment is thanks for the performer on the team's wall.
  const done = await opora.api("PUT", "/api/v1/orders/CL-503", { stage: "completed" });
  const asked = (await opora.api("GET", `/api/v1/cases/${done.case_id}/messages`)).map((m) => m.body_text).find((text) => text.includes("/rate/"));
  await page.goto(new URL(asked.match(/https?:\/\/\S+\/rate\/\S+/)[0]).href);
  await page.check("input[name=score][value='5']");
  assert.equal(await page.isVisible(".reasons-set"), false, "a 5 is not asked what went wrong");
  await page.fill("#comment", "Светлана — волшебница, окна сияют");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await page.context().close();

  const colleague = await signIn(chrome, opora, agent);
  await colleague.goto(`${opora.base}/kudos`);
  assert.match(await colleague.textContent(".kudos-wall"), /Светлана — волшебница[\s\S]*Спасибо исполнителю: Светлана/);
  assert.match(await colleague.textContent("#response-rate"), /клиенты ответили на \d+ %/);
  await screenshot(colleague, "kudos-ru");
  assert.deepEqual(colleague.errors, []);
  await colleague.context().close();
});

test("a supervisor sends a one-question survey from the workspace; the customer answers on a phone and the bars count it", async () => {
  const order = await opora.api("PUT", "/api/v1/orders/CL-900", { customer: { email: "olga@example.ru", name: "Ольга" }, stage: "created" });
  const supervisor = await opora.agent("Вера Руководитель", { role: "supervisor" });
  const page = await signIn(chrome, opora, supervisor);
  await page.goto(`${opora.base}/surveys`);
  await page.click(".survey-new summary");
  // A question with one answer is refused next to the field, in Russian.
  await page.fill("#survey-title", "Удобство");
  await page.fill("#survey-question", "Удобно ли заказывать у нас?");
  await page.fill("#survey-options", "Да");
  await page.click("#survey-form button[type=submit]");
  await page.waitForSelector("[data-error-for='questions.0.options']:not(:empty)");
  await page.fill("#survey-options", "Да\nНет, сложно");
  await Promise.all([page.waitForNavigation(), page.click("#survey-form button[type=submit]")]);
  assert.equal((await page.textContent("article.survey h2")).trim(), "Удобство");

  // The customer with the recent order got it; she answers on her phone.
  let link;
  for (let i = 0; i < 100 && !link; i++) {
    const cases = await opora.api("GET", `/api/v1/cases?customer=${order.customer_id}&status=solved`);
    for (const kase of cases.items.filter((c) => c.subject === "Опрос: Удобство")) {
      const messages = await opora.api("GET", `/api/v1/cases/${kase.id}/messages`);
      link = messages.map((m) => m.body_text.match(/https?:\/\/\S+\/survey\/\S+/)).find(Boolean)?.[0];
    }
    if (!link) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(link, "the survey reached the customer");
  const olga = await phone("ru-RU");
  await olga.goto(`${opora.base}${new URL(link).pathname}`);
  assert.equal((await olga.textContent("legend")).trim(), "Удобно ли заказывать у нас?");
  await olga.check("input[name=q0][value='1']");
  await Promise.all([olga.waitForNavigation(), olga.click("button[type=submit]")]);
  assert.equal((await olga.textContent("h1")).trim(), "Спасибо! Ваши ответы записаны.");
  await screenshot(olga, "survey-ru-phone");

  await page.reload();
  const counts = await page.$$eval("article.survey [data-count]", (cells) => cells.map((c) => c.textContent.trim()));
  assert.deepEqual(counts, ["0 (0%)", "1 (100%)"]);
  assert.match(await page.textContent("article.survey [data-answered]"), /Ответили 1 из \d+/);
  assert.deepEqual([...page.errors, ...olga.errors], []);
});

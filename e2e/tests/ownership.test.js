// One owner carries the case: take it, reply with a template and an attachment, leave a note,
// pull a colleague in (who sees it live), hand it over with a reason, edit its properties.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, shutdown, test } from "./harness.js";

let opora, chrome, owner, colleague;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  owner = await opora.agent("Мария Владелец");
  colleague = await opora.agent("Дмитрий Специалист");
  await opora.api("POST", "/api/v1/reply-templates", { name: "Извинение", body: "Здравствуйте, {{customer.name}}! По обращению #{{case.number}} уже работаем. {{agent.name}}" });
});
after(() => shutdown(chrome, opora));

test("take a case, reply with a template and an attachment, add a note", async () => {
  const kase = await opora.newCase("Не приехал курьер");
  const page = await signIn(chrome, opora, owner);
  await page.goto(`${opora.base}/cases/${kase.id}`);
  assert.equal((await page.textContent("#owner-name")).trim(), "Нет ответственного");
  await page.click("#take");
  await page.waitForFunction(() => document.querySelector("#owner-name")?.textContent.includes("Мария Владелец"));
  assert.equal(await page.locator("#take").count(), 0, "a taken case offers no 'take' any more");

  await page.selectOption("#template-picker", { label: "Извинение" });
  const text = await page.inputValue("#composer-body");
  assert.equal(text, `Здравствуйте, Ольга Клиентова! По обращению #${kase.number} уже работаем. Мария Владелец`);
  await page.setInputFiles("#composer-files", { name: "акт сверки.txt", mimeType: "text/plain", buffer: Buffer.from("Акт сверки за ноябрь") });
  assert.match(await page.textContent("#file-list"), /акт сверки\.txt/);
  await page.click("#composer-send");
  await page.waitForSelector(".message-outbound");
  assert.equal(await page.inputValue("#composer-body"), "", "the composer empties after sending");
  const outbound = page.locator(".message-outbound").last();
  assert.match(await outbound.textContent(), /уже работаем/);
  assert.match(await outbound.locator(".attachments").textContent(), /акт сверки\.txt/);
  const messages = await opora.api("GET", `/api/v1/cases/${kase.id}/messages`);
  const reply = messages.find((m) => m.direction === "outbound");
  assert.equal(reply.attachments[0].filename, "акт сверки.txt");
  assert.equal(reply.attachments[0].size, Buffer.byteLength("Акт сверки за ноябрь"));

  await page.keyboard.press("Escape");
  await page.click("body");
  await page.keyboard.press("n");
  assert.equal(await page.getAttribute("#tab-note", "aria-selected"), "true", "n switches to a note");
  await page.fill("#composer-body", "Проверить GPS курьера");
  await page.click("#composer-send");
  await page.waitForSelector(".message-internal");
  assert.match(await page.textContent(".message-internal"), /Заметка\s*.*Проверить GPS курьера/s);
  const afterNote = await opora.api("GET", `/api/v1/cases/${kase.id}/messages`);
  assert.equal(afterNote.filter((m) => m.direction === "internal").length, 1);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a draft survives a reload", async () => {
  const kase = await opora.newCase("Черновик");
  const page = await signIn(chrome, opora, owner);
  await page.goto(`${opora.base}/cases/${kase.id}`);
  await page.fill("#composer-body", "Недописанный ответ");
  await page.waitForTimeout(500);
  await page.reload();
  assert.equal(await page.inputValue("#composer-body"), "Недописанный ответ");
  await page.context().close();
});

test("a pulled-in colleague sees the case live, a hand-over needs a reason", async () => {
  const kase = await opora.newCase("Сломали вазу", { kind: "complaint", priority: "high" });
  const mine = await signIn(chrome, opora, owner);
  const theirs = await signIn(chrome, opora, colleague);
  await theirs.goto(`${opora.base}/inbox/involved`);
  assert.equal(await theirs.locator(`tr[data-case="${kase.id}"]`).count(), 0);
  await mine.goto(`${opora.base}/cases/${kase.id}`);
  await mine.click("#take");
  await mine.waitForFunction(() => document.querySelector("#owner-name")?.textContent.includes("Мария"));

  await mine.click("#pull-in");
  await mine.selectOption("#pull-in-agent", { label: "Дмитрий Специалист" });
  await mine.click("#dialog-pull-in button[type=submit]");
  await mine.waitForSelector(".chip >> text=Дмитрий Специалист");
  await theirs.waitForSelector(`tr[data-case="${kase.id}"]`, { timeout: 10000 });
  assert.equal(await theirs.textContent('[data-count="involved"]'), "1", "the view count updates live");
  await theirs.waitForFunction(() => document.querySelector("#unread")?.textContent === "1");

  await theirs.click(`tr[data-case="${kase.id}"] a`);
  assert.match(await theirs.textContent(".ownership"), /вы можете оставить заметку/, "a non-owner sees who owns it");
  await theirs.click("#tab-note");
  await theirs.fill("#composer-body", "Нашёл поставщика вазы");
  await theirs.click("#composer-send");
  await mine.waitForSelector(".message-internal >> text=Нашёл поставщика вазы", { timeout: 10000 });

  await mine.click("#hand-over");
  await mine.selectOption("#transfer-agent", { label: "Дмитрий Специалист" });
  await mine.click("#dialog-transfer button[type=submit]");
  await mine.waitForSelector("#dialog-transfer [data-error-for=reason]:not(:empty)");
  assert.equal((await mine.textContent("#dialog-transfer [data-error-for=reason]")).trim(), "Обязательное поле", "no hand-over without a reason");
  await mine.fill("#transfer-reason", "Ухожу в отпуск, Дмитрий доведёт до конца");
  await mine.click("#dialog-transfer button[type=submit]");
  await mine.waitForFunction(() => document.querySelector("#owner-name")?.textContent.includes("Дмитрий"));
  assert.match(await mine.textContent(".thread"), /Причина: Ухожу в отпуск, Дмитрий доведёт до конца/);
  await theirs.waitForFunction(() => document.querySelector("#owner-name")?.textContent.includes("Дмитрий"), null, { timeout: 10000 });
  const events = await opora.api("GET", `/api/v1/cases/${kase.id}/events`);
  const handOver = events.find((e) => e.kind === "case.owner_transferred");
  assert.equal(handOver.data.reason, "Ухожу в отпуск, Дмитрий доведёт до конца");
  await mine.context().close();
  await theirs.context().close();
});

test("properties are edited in place; mistakes are shown next to the field", async () => {
  const kase = await opora.newCase("Свойства");
  const page = await signIn(chrome, opora, owner);
  await page.goto(`${opora.base}/cases/${kase.id}`);
  await page.selectOption("#prop-priority", "urgent");
  await page.waitForSelector("#toast:not([hidden])");
  assert.equal((await opora.api("GET", `/api/v1/cases/${kase.id}`)).priority, "urgent");
  await page.fill("#prop-tags", "vip, плохой тег!");
  await page.press("#prop-tags", "Tab");
  await page.waitForSelector("[data-error-for=tags]:not(:empty)");
  assert.match(await page.textContent("[data-error-for=tags]"), /Метка может содержать буквы/);
  assert.equal(await page.getAttribute("#prop-tags", "aria-invalid"), "true");
  assert.deepEqual((await opora.api("GET", `/api/v1/cases/${kase.id}`)).tags, [], "nothing saved on a mistake");
  await page.fill("#prop-tags", "vip, доставка");
  await page.press("#prop-tags", "Tab");
  await page.waitForFunction(() => !document.querySelector("#prop-tags")?.getAttribute("aria-invalid"));
  assert.deepEqual((await opora.api("GET", `/api/v1/cases/${kase.id}`)).tags, ["vip", "доставка"]);
  await page.selectOption("#prop-status", "solved");
  await page.waitForSelector("[data-error-for=status]:not(:empty)");
  assert.match(await page.textContent("[data-error-for=status]"), /.+/, "solving an unowned case is refused next to the status");
  await page.context().close();
});

test("a customer's message and a colleague's change arrive without reload", async () => {
  const kase = await opora.newCase("Живые обновления");
  const page = await signIn(chrome, opora, owner);
  await page.goto(`${opora.base}/cases/${kase.id}`);
  const marker = await page.evaluate(() => { window.notReloaded = true; return true; });
  await opora.api("POST", `/api/v1/cases/${kase.id}/messages`, { kind: "inbound", body_text: "Курьер приехал, спасибо!" });
  await page.waitForSelector(".message-inbound >> text=Курьер приехал, спасибо!", { timeout: 10000 });
  await opora.api("PATCH", `/api/v1/cases/${kase.id}`, { priority: "high" });
  await page.waitForFunction(() => document.querySelector(".case-meta .priority")?.textContent.includes("Высокий"), null, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.notReloaded), marker, "the page was not reloaded");
  await page.goto(`${opora.base}/inbox/open`);
  await page.evaluate(() => { window.notReloaded = true; });
  const fresh = await opora.newCase("Новое, пока смотрим список");
  await page.waitForSelector(`tr[data-case="${fresh.id}"]`, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  await page.context().close();
});

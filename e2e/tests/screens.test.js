// What the workspace looks like, in both languages, on a desktop and on a phone; keyboard use.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";

let opora, chrome, ru, en, kase;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  ru = await opora.agent("Мария Иванова", { language: "ru" });
  en = await opora.agent("Olga Brown", { language: "en" });
  await opora.api("POST", "/api/v1/custom-fields", { key: "order_no", label_ru: "Номер заказа", label_en: "Order number", field_type: "text" });
  for (const [subject, priority] of [["Клинер опоздал на два часа", "high"], ["Invoice shows the wrong VAT number", "normal"], ["Не пришёл курьер с заказом №5512", "urgent"]]) {
    kase = await opora.newCase(subject, { priority, tags: ["демо"], custom_fields: { order_no: "CL-20481" }, compensation_budget: { amount: "1500", currency: "RUB" } });
  }
  await opora.api("POST", `/api/v1/cases/${kase.id}/take`, {});
  await opora.api("POST", `/api/v1/cases/${kase.id}/messages`, { body_text: "Сергей, уже связываемся с курьером, напишу через 10 минут." });
  await opora.api("POST", `/api/v1/cases/${kase.id}/messages`, { kind: "note", body_text: "Курьер в пробке на МКАД, ETA 16:20." });
  await opora.api("POST", `/api/v1/cases/${kase.id}/compensations`, { kind: "discount", amount: "500", note: "Скидка на доставку" });
});
after(() => shutdown(chrome, opora));

for (const [language, who, viewTitle] of [["ru", () => ru, "Все открытые"], ["en", () => en, "All open"]]) {
  test(`inbox and case page in ${language}, desktop and phone`, async () => {
    for (const [device, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
      const page = await signIn(chrome, opora, who(), { locale: language, viewport });
      await page.goto(`${opora.base}/inbox/open`);
      assert.equal((await page.textContent("h1")).trim(), viewTitle);
      const inboxOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(inboxOverflow <= 1, `no sideways scrolling of the inbox on ${device}: ${inboxOverflow}px`);
      await screenshot(page, `inbox-${language}-${device}`);
      await page.goto(`${opora.base}/cases/${kase.id}`);
      await page.waitForSelector(".thread");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `no sideways scrolling on ${device}: ${overflow}px`);
      await screenshot(page, `case-${language}-${device}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    }
  });
}

test("the inbox is usable from the keyboard", async () => {
  const page = await signIn(chrome, opora, ru);
  await page.goto(`${opora.base}/inbox/open`);
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  await page.keyboard.press("k");
  const selected = await page.getAttribute("tr.case-row.selected", "data-case");
  assert.ok(selected, "j/k select a row");
  await Promise.all([page.waitForURL(`**/cases/${selected}`), page.keyboard.press("Enter")]);
  await page.keyboard.press("r");
  assert.equal(await page.evaluate(() => document.activeElement.id), "composer-body", "r opens the reply");
  await page.keyboard.press("Escape");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "search", "/ goes to search");
  await page.keyboard.type(`#${kase.number}`);
  await Promise.all([page.waitForURL(`**/cases/${kase.id}`), page.keyboard.press("Enter")]);
  await page.context().close();
});

test("every form control has a label and focus is visible", async () => {
  const page = await signIn(chrome, opora, ru);
  for (const path of ["/inbox/open", `/cases/${kase.id}`, "/me"]) {
    await page.goto(`${opora.base}${path}`);
    const unlabeled = await page.evaluate(() => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
      .filter((el) => !el.labels?.length && !el.getAttribute("aria-label") && !el.closest("label") && el.offsetParent !== null)
      .map((el) => el.id || el.name));
    assert.deepEqual(unlabeled, [], `unlabelled controls on ${path}`);
  }
  await page.focus("#search");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
  await page.context().close();
});

// Signing in and out, in Russian and in English; errors next to the field; an expired session.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, shutdown, test } from "./harness.js";

let opora, chrome, ru, en;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  ru = await opora.agent("Мария Русская", { language: "ru" });
  en = await opora.agent("Emma English", { language: "en" });
});
after(() => shutdown(chrome, opora));

test("the sign-in page follows the browser's language", async () => {
  for (const [locale, button, email] of [["ru-RU", "Войти", "Почта"], ["en-GB", "Sign in", "E-mail"]]) {
    const context = await chrome.newContext({ locale });
    const page = await context.newPage();
    await page.goto(`${opora.base}/login`);
    assert.equal((await page.textContent("button[type=submit]")).trim(), button);
    assert.equal((await page.textContent("label[for=email]")).trim(), email);
    await context.close();
  }
});

test("signs in and out in Russian", async () => {
  const page = await signIn(chrome, opora, ru, { locale: "ru-RU" });
  assert.equal(await page.getAttribute("html", "lang"), "ru");
  assert.equal((await page.textContent("h1")).trim(), "Мои");
  assert.match(await page.textContent(".views"), /Без ответственного/);
  await page.click(".usermenu summary");
  await Promise.all([page.waitForURL("**/login"), page.click("text=Выйти")]);
  await page.goto(`${opora.base}/inbox/mine`);
  assert.match(page.url(), /\/login\?next=%2Finbox%2Fmine$/, "signed out: the inbox sends you to sign in");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("signs in and out in English", async () => {
  const page = await signIn(chrome, opora, en, { locale: "en-US" });
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal((await page.textContent("h1")).trim(), "Mine");
  await page.click(".usermenu summary");
  await Promise.all([page.waitForURL("**/login"), page.click("text=Sign out")]);
  assert.equal((await page.textContent("button[type=submit]")).trim(), "Sign in");
  await page.context().close();
});

test("a wrong password and a malformed e-mail are explained next to the form", async () => {
  const context = await chrome.newContext({ locale: "ru-RU" });
  const page = await context.newPage();
  await page.goto(`${opora.base}/login`);
  await page.fill("#email", "not-an-email");
  await page.fill("#password", "x");
  await page.click("button[type=submit]");
  assert.equal((await page.textContent("#email-error")).trim(), "Некорректный адрес почты");
  assert.equal(await page.getAttribute("#email", "aria-invalid"), "true");
  assert.equal(await page.inputValue("#email"), "not-an-email", "what was typed stays");
  await page.fill("#email", ru.email);
  await page.fill("#password", "wrong password");
  await page.click("button[type=submit]");
  assert.equal((await page.textContent("#login-error")).trim(), "Неверная почта или пароль");
  await Promise.all([page.waitForURL("**/login**"), page.click(".language-switch button[lang=en]")]);
  assert.equal((await page.textContent("button[type=submit]")).trim(), "Sign in", "the language switch works before signing in");
  await context.close();
});

test("an expired session sends the agent to sign in and back to where they were", async () => {
  const { id } = await opora.newCase("Сессия истекла");
  const page = await signIn(chrome, opora, ru);
  await page.goto(`${opora.base}/cases/${id}`);
  await page.context().clearCookies();
  await page.selectOption("#prop-priority", "high");
  await page.waitForURL(/\/login\?next=/);
  await page.fill("#email", ru.email);
  await page.fill("#password", ru.password);
  await Promise.all([page.waitForURL(`**/cases/${id}`), page.click("button[type=submit]")]);
  assert.match(await page.textContent("h1"), /Сессия истекла/);
  await page.context().close();
});

test("the agent switches language from the menu and changes their password", async () => {
  const agent = await opora.agent("Смена Настроек");
  const page = await signIn(chrome, opora, agent, { locale: "ru-RU" });
  await page.click(".usermenu summary");
  await Promise.all([page.waitForURL("**/me"), page.click(".usermenu button[data-language=en]")]);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal((await page.textContent("h1")).trim(), "Profile");
  assert.equal((await opora.api("GET", `/api/v1/agents/${agent.id}`)).language, "en", "the choice is the agent's, not the browser's");
  await page.fill("#current-password", "wrong one");
  await page.fill("#new-password", "a much longer password");
  await page.click("form[data-api='POST /api/v1/me/password'] button[type=submit]");
  await page.waitForSelector("[data-error-for=current_password]:not(:empty)");
  assert.equal((await page.textContent("[data-error-for=current_password]")).trim(), "The current password is wrong");
  await page.fill("#current-password", agent.password);
  await page.click("form[data-api='POST /api/v1/me/password'] button[type=submit]");
  await page.waitForSelector("#toast:not([hidden])");
  const again = await signIn(chrome, opora, { ...agent, password: "a much longer password" });
  assert.equal((await again.textContent("h1")).trim(), "Mine");
  await page.context().close();
  await again.context().close();
});

test("send and set status in one step", async () => {
  const agent = await opora.agent("Решающий Вопросы");
  const kase = await opora.newCase("Решим сразу");
  const page = await signIn(chrome, opora, agent);
  await page.goto(`${opora.base}/cases/${kase.id}`);
  await page.fill("#composer-body", "Готово, деньги вернули.");
  await page.selectOption("#status-after", "solved");
  await page.click("#composer-send");
  await page.waitForFunction(() => document.querySelector(".case-meta .status")?.textContent.includes("Решено"), null, { timeout: 10000 });
  const after = await opora.api("GET", `/api/v1/cases/${kase.id}`);
  assert.equal(after.status, "solved");
  assert.equal(after.owner.id, agent.id, "replying to an unowned case made the agent its owner");
  await page.context().close();
});

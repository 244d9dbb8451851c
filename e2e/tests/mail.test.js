// The e-mail channel as a team sees it: mailboxes set up in the settings, received mail with
// its quarantine, a mail thread with reply-all participants and the delivery state of a reply.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Opora, browser, signIn, screenshot, shutdown, test } from "./harness.js";

let opora, chrome, admin;
before(async () => {
  // Replies to more than two people wait for the agent's confirmation (10 by default).
  opora = await Opora.start({ lmtp: true, settings: { OPORA_CONVERSATIONS_CONFIRM_RECIPIENTS_OVER: "2" } });
  chrome = await browser();
  admin = { email: "admin@e2e.test", password: "admin-password-1" };
});
after(() => shutdown(chrome, opora));

function letter({ from, to = "support@localhost", cc, subject, id, inReplyTo, body }) {
  const head = [`From: ${from}`, `To: ${to}`, `Subject: =?utf-8?b?${Buffer.from(subject).toString("base64")}?=`,
    "Date: Sun, 22 Nov 2026 10:00:00 +0300", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit", `Message-ID: <${id}>`];
  if (cc) head.push(`Cc: ${cc}`);
  if (inReplyTo) head.push(`In-Reply-To: <${inReplyTo}>`, `References: <${inReplyTo}>`);
  return `${head.join("\r\n")}\r\n\r\n${body}\r\n`;
}

async function settled(id) {
  for (let i = 0; i < 100; i++) {
    const mail = await opora.api("GET", `/api/v1/mail/messages/${id}`);
    if (mail.status !== "received") return mail;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mail ${id} was not processed`);
}

test("an admin adds a mailbox, sees its errors in words, and switches it off", async () => {
  const page = await signIn(chrome, opora, admin);
  await page.goto(`${opora.base}/admin/mailboxes`);
  assert.match(await page.textContent("tr[data-mailbox=default]"), /support@localhost/, "a fresh installation has a default mailbox");
  const form = "form[data-api='POST /api/v1/mailboxes']";
  await page.fill("#mailbox-new-name", "Продажи");
  await page.fill("#mailbox-new-address", "не адрес");
  await page.fill("#mailbox-new-imap-host", "127.0.0.1");
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`${form} [data-error-for=address]:not(:empty)`);
  assert.equal((await page.textContent(`${form} [data-error-for=address]`)).trim(), "Некорректный адрес почты");
  assert.ok((await page.textContent(`${form} [data-error-for=imap_user]`)).trim().length > 0, "an IMAP server needs a user name");

  await page.fill("#mailbox-new-address", "sales@e2e.test");
  await page.fill("#mailbox-new-imap-port", "1");
  await page.selectOption("#mailbox-new-imap-security", "none");
  await page.fill("#mailbox-new-imap-user", "sales");
  await page.fill("#mailbox-new-imap-password", "секрет");
  await Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
  const [sales] = (await opora.api("GET", "/api/v1/mailboxes")).filter((m) => m.name === "Продажи");
  assert.equal(sales.imap.port, 1);
  assert.equal(sales.imap.password_set, true);

  // Nothing listens on port 1: the fetcher's error reaches the page.
  for (let i = 0; i < 50 && !(await page.$("tr[data-mailbox=Продажи] [data-fetch-error]")); i++) {
    await new Promise((r) => setTimeout(r, 200));
    await page.reload();
  }
  assert.match(await page.textContent("tr[data-mailbox=Продажи]"), /ошибка получения/);
  await page.click("tr[data-mailbox=Продажи] [data-channel-check]");
  await page.waitForSelector("tr[data-mailbox=Продажи] [data-check-result] li.error-text");
  assert.match(await page.textContent("tr[data-mailbox=Продажи] [data-check-result]"), /IMAP: ошибка: .*refused/i);
  await page.click("tr[data-mailbox=default] [data-channel-check]");
  await page.waitForSelector("tr[data-mailbox=default] [data-check-result] li:not(:has-text('Проверяем'))");
  assert.match(await page.textContent("tr[data-mailbox=default] [data-check-result]"), /нет серверов/);
  await screenshot(page, "mailboxes-ru");

  // Editing without retyping the password keeps it.
  const edit = `form[data-api='PATCH /api/v1/mailboxes/${sales.id}']`;
  await page.click(`tr.mailbox-edit:has(${edit}) summary`);
  await page.uncheck(`${edit} input[name=active]`);
  await page.fill(`${edit} input[name=sender_name]`, "Отдел продаж");
  await Promise.all([page.waitForNavigation(), page.click(`${edit} button[type=submit]`)]);
  assert.match(await page.textContent("tr[data-mailbox=Продажи]"), /выключен/);
  const changed = await opora.api("GET", `/api/v1/mailboxes/${sales.id}`);
  assert.deepEqual([changed.active, changed.sender_name, changed.imap.password_set], [false, "Отдел продаж", true]);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("received mail: filed, quarantined, downloaded and processed again", async () => {
  const [good, bad] = await opora.deliver("support@localhost",
    letter({ from: "Ольга <olga@example.ru>", subject: "Не пришёл курьер", id: "e2e-good@example.ru", body: "Жду с утра." }),
    "\u0001 not a message at all");
  assert.equal((await settled(good)).status, "processed");
  assert.equal((await settled(bad)).status, "quarantined");
  const page = await signIn(chrome, opora, admin, { locale: "en-US" });
  await page.goto(`${opora.base}/admin/mail?status=quarantined`);
  assert.equal(await page.$$eval("tr[data-mail]", (rows) => rows.length), 1);
  assert.match(await page.textContent(`tr[data-mail="${bad}"]`), /quarantined|в карантине/);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(`tr[data-mail="${bad}"] a[download]`)]);
  assert.match(download.suggestedFilename(), /\.eml$/);
  // Processing it again reloads the page once the server took it back.
  await Promise.all([page.waitForNavigation(), page.click(`tr[data-mail="${bad}"] form button`)]);
  assert.equal((await settled(bad)).status, "quarantined", "still unreadable, still kept");

  await page.goto(`${opora.base}/admin/mail`);
  const row = `tr[data-mail="${good}"]`;
  assert.equal(await page.getAttribute(row, "data-status"), "processed");
  await Promise.all([page.waitForNavigation(), page.click(`${row} a[href^="/cases/"]`)]);
  assert.match(await page.textContent(".thread"), /Жду с утра/);
  await screenshot(page, "received-mail-en");
  await page.context().close();
});

test("a mail thread shows who joined it and whether a reply was delivered", async () => {
  // Maria was copied on Ivan's first message, so her answer may continue his case (someone
  // outside the conversation who answers it gets a case of their own, linked to his).
  const [first] = await opora.deliver("support@localhost",
    letter({ from: "Иван Петров <ivan@example.ru>", cc: "Мария Петрова <maria@example.ru>", subject: "Двойное списание",
             id: "thread-1@example.ru", body: "Списали дважды." }));
  const caseId = (await settled(first)).case_id;
  const [second] = await opora.deliver("support@localhost",
    letter({ from: "Мария Петрова <maria@example.ru>", cc: "Бухгалтерия <buh@example.ru>", subject: "Re: Двойное списание",
             id: "thread-2@example.ru", inReplyTo: "thread-1@example.ru", body: "Подтверждаю, я жена Ивана." }));
  assert.equal((await settled(second)).case_id, caseId);

  const page = await signIn(chrome, opora, admin);
  await page.goto(`${opora.base}/cases/${caseId}`);
  const side = await page.textContent(".participants");
  assert.match(side, /Мария Петрова/);
  assert.match(side, /Бухгалтерия/);
  assert.match(await page.textContent(".thread"), /В переписку вступил\(а\) Мария Петрова/);
  assert.match(await page.textContent(".thread"), /Мария Петрова[\s\S]*Подтверждаю/, "the second writer is named on her message");
  assert.match(side, /maria@example\.ru/, "each person in the conversation is shown with the address");

  // Ivan, Maria and accounting are three: the reply waits until the agent confirms it.
  await page.fill("#composer-body", "Разбираемся, ответим сегодня.");
  assert.equal(await page.isVisible("[data-confirm-recipients]"), false, "no confirmation asked before it is needed");
  await page.click("#composer-send");
  await page.waitForSelector("[data-confirm-recipients]", { state: "visible" });
  assert.match(await page.textContent("[data-error-for=copies]"), /3 адресатам/);
  assert.equal(await page.locator(".message-outbound").count(), 0, "nothing was sent yet");
  await page.check("input[name=confirm_recipients]");
  await page.click("#composer-send");
  await page.waitForSelector(".message-outbound");
  assert.equal(await page.isVisible("[data-confirm-recipients]"), false, "asked again only for the next such reply");

  // Accounting is taken out: gone from the list and from the reply's copies, and on the record.
  await page.click(`.participants button[aria-label$="Бухгалтерия"]`);
  await page.waitForFunction(() => !document.querySelector(".participants")?.textContent.includes("Бухгалтерия"), null, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector(".thread").textContent.includes("из переписки: Бухгалтерия"), null, { timeout: 10000 });
  assert.equal(await page.locator(".composer-copies input[name=copy]").count(), 1);
  assert.match(await page.textContent(".composer-copies"), /Мария Петрова[\s\S]*maria@example\.ru/);
  assert.doesNotMatch(await page.textContent(".composer-copies"), /Бухгалтерия/);

  // The default mailbox has no SMTP server: the reply is kept, marked undelivered, and says why.
  await page.fill("#composer-body", "Вернём деньги сегодня.");
  await page.click("#composer-send");
  await page.waitForSelector(".message-outbound [data-delivery=failed]", { timeout: 15000 });
  assert.match(await page.textContent(".message-outbound"), /не доставлено[\s\S]*SMTP/);
  await screenshot(page, "mail-thread-ru");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("images from other sites stay blocked until an agent asks for them", async () => {
  // A tracking pixel on a local server that counts who fetched it.
  let hits = 0;
  const pixel = http.createServer((request, response) => {
    hits += 1;
    response.writeHead(200, { "Content-Type": "image/gif" });
    response.end(Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64"));
  });
  await new Promise((resolve) => pixel.listen(0, "127.0.0.1", resolve));
  const src = `http://127.0.0.1:${pixel.address().port}/open.gif`;
  const html = ["From: Emma Clark <emma@example.com>", "To: support@localhost", "Subject: Newsletter question",
    "Message-ID: <pixel-1@example.com>", "MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8", "",
    `<p>Can I <b>unsubscribe</b>?</p><img src="${src}" width="1" height="1">`].join("\r\n");
  const [id] = await opora.deliver("support@localhost", html);
  const caseId = (await settled(id)).case_id;
  const page = await signIn(chrome, opora, admin, { locale: "en-US" });
  await page.goto(`${opora.base}/cases/${caseId}`);
  await page.waitForSelector("[data-remote-images]");
  assert.match(await page.textContent("[data-remote-images]"), /Картинки с других сайтов скрыты/);
  assert.equal(await page.getAttribute(".message-body.html img", "src"), src, "the address is kept");
  await page.waitForTimeout(300);
  assert.equal(hits, 0, "nothing was fetched from the other site");
  await Promise.all([page.waitForNavigation(), page.click("[data-show-images]")]);
  await page.waitForFunction(() => document.querySelector(".message-body.html img")?.complete);
  assert.equal(hits, 1, "fetched once the agent asked");
  assert.match(await page.textContent("[data-remote-images]"), /показаны/);
  await page.context().close();
  pixel.close();
});

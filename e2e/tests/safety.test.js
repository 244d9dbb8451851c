// Nothing a customer or agent types can inject markup or script: subjects, messages, customer
// names and attachment names are shown as text.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, shutdown, test } from "./harness.js";

let opora, chrome, agent;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  agent = await opora.agent("Анна Безопасная");
});
after(() => shutdown(chrome, opora));

const PAYLOAD = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>"'><svg onload=window.pwned=3>`;

test("user-controlled text cannot inject markup or script", async () => {
  const kase = await opora.api("POST", "/api/v1/cases", {
    subject: `Тема ${PAYLOAD}`,
    customer: { email: "xss@example.ru", name: `Клиент ${PAYLOAD}` },
    message: {
      body_text: `Текст ${PAYLOAD}`,
      attachments: [{ filename: `<img src=x onerror=window.pwned=4>.txt`, content_type: "text/html", content_base64: Buffer.from("<script>window.pwned=5</script>").toString("base64") }],
    },
    tags: ["safe"],
  });
  await opora.api("POST", `/api/v1/cases/${kase.id}/messages`, { kind: "inbound", body_html: `<p>HTML ${PAYLOAD}</p><a href="javascript:window.pwned=6">ссылка</a>` });
  await opora.api("POST", "/api/v1/reply-templates", { name: "Шаблон <img src=x onerror=window.pwned=7>", body: `{{customer.name}} ${PAYLOAD}` });
  const page = await signIn(chrome, opora, agent);
  for (const path of ["/inbox/open", `/cases/${kase.id}`, "/inbox/open?q=xss"]) {
    await page.goto(`${opora.base}${path}`);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.pwned), undefined, `no script ran on ${path}`);
    assert.equal(await page.locator('img[src="x"]').count(), 0, `no injected image on ${path}`);
    assert.equal(await page.locator("svg[onload]").count(), 0);
  }
  await page.goto(`${opora.base}/cases/${kase.id}`);
  assert.match(await page.textContent("h1"), /Тема <img src=x onerror="window\.pwned=1">/, "shown as text");
  assert.match(await page.textContent(".customer-panel h2"), /Клиент <img/);
  assert.match(await page.textContent(".message-inbound"), /Текст <img src=x/);
  assert.match(await page.textContent(".attachments"), /<img src=x onerror=window\.pwned=4>\.txt/);
  const html = page.locator(".message-body.html");
  assert.equal(await html.locator("script, svg, [onerror], [onload], img[src]").count(), 0, "sanitised HTML keeps no script, handler, svg or foreign image");
  assert.equal(await html.locator('a[href^="javascript"]').count(), 0);
  await page.selectOption("#template-picker", { index: 1 });
  assert.match(await page.inputValue("#composer-body"), /<img src=x/, "a template is inserted as plain text");
  const download = await page.request.get(`${opora.base}/api/v1/attachments/${(await opora.api("GET", `/api/v1/cases/${kase.id}/messages`))[0].attachments[0].id}`);
  assert.equal(download.headers()["content-type"], "application/octet-stream", "an HTML attachment is never served as a page");
  assert.match(download.headers()["content-security-policy"], /sandbox/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("pages forbid inline script and framing", async () => {
  const page = await signIn(chrome, opora, agent);
  const response = await page.goto(`${opora.base}/inbox/mine`);
  const headers = response.headers();
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.doesNotMatch(headers["content-security-policy"], /unsafe-inline/);
  assert.equal(headers["x-frame-options"], "DENY");
  await page.context().close();
});

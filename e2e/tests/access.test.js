// Access by team in the workspace: an admin limits an agent to their teams' cases; the agent's
// inbox (live too), search and case pages show only those, and another team's case is "not found".
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { Opora, browser, signIn, shutdown, test } from "./harness.js";

let opora, chrome, admin, limited, other;
before(async () => {
  opora = await Opora.start();
  chrome = await browser();
  admin = await opora.agent("Анна Админ", { role: "admin" });
  limited = await opora.agent("Павел Складской");
  other = await opora.agent("Вера Биллинг");
});
after(() => shutdown(chrome, opora));

test("an agent limited to their teams sees only their cases, live and in search", async () => {
  const page = await signIn(chrome, opora, admin);
  await page.goto(`${opora.base}/admin/agents`);
  const access = page.locator(`select[data-agent-field=case_access][data-agent="${limited.id}"]`);
  assert.equal(await access.inputValue(), "all", "every case by default");
  await access.selectOption("teams");
  await page.waitForFunction(async (id) => {
    const me = await fetch(`/api/v1/agents`).then((r) => r.json());
    return me.find((a) => a.id === id)?.case_access === "teams";
  }, limited.id);
  await page.context().close();

  const warehouse = await opora.api("POST", "/api/v1/teams", { name: "Склад", member_ids: [limited.id] });
  const billing = await opora.api("POST", "/api/v1/teams", { name: "Биллинг", member_ids: [other.id] });
  const ours = await opora.newCase("Потеряли коробку", { team_id: warehouse.id });
  const theirs = await opora.newCase("Двойное списание", { team_id: billing.id });

  const agent = await signIn(chrome, opora, limited);
  await agent.goto(`${opora.base}/inbox/open`);
  await agent.waitForSelector(`tr[data-case="${ours.id}"]`);
  assert.equal(await agent.locator(`tr[data-case="${theirs.id}"]`).count(), 0, "another team's case is not listed");
  assert.doesNotMatch(await agent.textContent("main"), /Двойное списание/);

  // Live: a new case of the other team never shows up; one of their own does.
  await opora.newCase("Списали ещё раз", { team_id: billing.id });
  const fresh = await opora.newCase("Коробка нашлась", { team_id: warehouse.id });
  await agent.waitForSelector(`tr[data-case="${fresh.id}"]`, { timeout: 10000 });
  assert.doesNotMatch(await agent.textContent("main"), /Списали ещё раз/);

  // Search by number and by the customer's name finds nothing of the other team.
  await agent.goto(`${opora.base}/inbox/open?q=${encodeURIComponent("#" + theirs.number)}`);
  assert.match(agent.url(), /\/inbox\/open/, "no jump to a case they may not see");
  await agent.goto(`${opora.base}/inbox/open?q=${encodeURIComponent("Ольга")}`);
  await agent.waitForSelector(`tr[data-case="${ours.id}"]`);
  assert.equal(await agent.locator(`tr[data-case="${theirs.id}"]`).count(), 0);

  const response = await agent.goto(`${opora.base}/cases/${theirs.id}`);
  assert.equal(response.status(), 404);
  assert.match(await agent.textContent("h1"), /Обращение не найдено/);
  assert.deepEqual(agent.errors, []);
  await agent.context().close();
});

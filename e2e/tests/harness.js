// The browser tests' harness: the real `opora` binary on a free port over a fresh SQLite
// database, agents created through the CLI and API, and Debian's Chromium.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";
import { test as nodeTest } from "node:test";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const binary = process.env.OPORA_BINARY || join(root, "target", "debug", "opora");
export const artifacts = join(root, "artifacts");

async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export class Opora {
  /** `lmtp: true` opens the LMTP listener on a free port; `settings` adds `OPORA_*` variables. */
  static async start({ lmtp = false, settings = {} } = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), "opora-e2e-"));
    const port = await freePort();
    const lmtpPort = lmtp ? await freePort() : null;
    const env = { ...process.env, OPORA_DATA_DIR: dataDir, OPORA_LOG: "warn", OPORA_LISTEN: `127.0.0.1:${port}`, OPORA_SECURITY_LOGIN_ATTEMPTS_PER_MINUTE: "1000",
    OPORA_PUBLIC_URL: `http://127.0.0.1:${port}`, ...settings };
    if (lmtp) env.OPORA_MAIL_LMTP_LISTEN = `127.0.0.1:${lmtpPort}`;
    const cli = (...args) => execFileSync(binary, args, { env, encoding: "utf8" }).trim();
    cli("agent", "add", "--email", "admin@e2e.test", "--name", "Админ Тестов", "--role", "admin", "--password", "admin-password-1");
    const token = cli("token", "create", "--agent", "admin@e2e.test", "--name", "e2e");
    const server = spawn(binary, ["serve"], { env, stdio: ["ignore", "ignore", "inherit"] });
    const opora = new Opora(`http://127.0.0.1:${port}`, token, server);
    opora.lmtpPort = lmtpPort;
    opora.dataDir = dataDir;
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${opora.base}/healthz`)).ok) return opora; } catch (_) { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("opora did not start");
  }

  constructor(base, token, server) {
    this.base = base;
    this.token = token;
    this.server = server;
  }

  /** Stops the server; one that does not exit within five seconds is killed. */
  async stop() {
    if (this.server.exitCode !== null || this.server.signalCode !== null) return;
    const exited = new Promise((resolve) => this.server.once("exit", resolve));
    this.server.kill("SIGTERM");
    if (!(await settles(exited, 5000))) {
      console.error("opora did not stop on SIGTERM within 5 s; killing it");
      this.server.kill("SIGKILL");
      await exited;
    }
  }

  async api(method, path, body, token = this.token) {
    const response = await fetch(this.base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Accept-Language": "en" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return data;
  }

  /** An agent who can sign in: {id, email, password}. */
  async agent(name, { role = "agent", language = "ru" } = {}) {
    this.agents = (this.agents || 0) + 1;
    const email = `agent${this.agents}@e2e.test`;
    const password = "correct horse battery";
    const created = await this.api("POST", "/api/v1/agents", { email, name, role, language, password });
    return { id: created.agent.id, email, password, name };
  }

  /** Hands raw messages to the LMTP listener, as Postfix would; resolves with the stored ids. */
  async deliver(recipient, ...messages) {
    const socket = net.connect(this.lmtpPort, "127.0.0.1");
    socket.setEncoding("utf8");
    let buffer = "";
    const lines = [];
    const waiters = [];
    socket.on("data", (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^\d{3}-/.test(line)) continue; // continuation lines of a multi-line reply
        if (waiters.length) waiters.shift()(line); else lines.push(line);
      }
    });
    const reply = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((resolve) => waiters.push(resolve)));
    const expect = async (code) => {
      const line = await reply();
      if (!line.startsWith(code)) throw new Error(`LMTP: expected ${code}, got ${line}`);
      return line;
    };
    await expect("220");
    socket.write("LHLO e2e\r\n");
    await expect("250");
    const ids = [];
    for (const message of messages) {
      socket.write(`MAIL FROM:<mta@e2e.test>\r\nRCPT TO:<${recipient}>\r\nDATA\r\n`);
      await expect("250");
      await expect("250");
      await expect("354");
      const body = message.split(/\r?\n/).map((l) => (l.startsWith(".") ? "." + l : l)).join("\r\n");
      socket.write(body + "\r\n.\r\n");
      ids.push(Number((await expect("250")).split(" ").pop()));
    }
    socket.end("QUIT\r\n");
    return ids;
  }

  async newCase(subject, extra = {}) {
    return this.api("POST", "/api/v1/cases", {
      subject,
      customer: { email: `c${Date.now()}${Math.floor(Math.random() * 1e6)}@example.ru`, name: "Ольга Клиентова" },
      message: { body_text: "Здравствуйте! Заказ не приехал." },
      ...extra,
    });
  }
}

/**
 * A browser test with its own time limit, shorter than the file's: a test that hangs fails by
 * its own name and the file's other tests still run.
 */
export function test(name, fn) {
  return nodeTest(name, { timeout: 60_000 }, fn);
}

/** Whether `promise` settles within `ms`. */
async function settles(promise, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  const done = promise.then(() => true, () => true);
  const result = await Promise.race([done, late]);
  clearTimeout(timer);
  return result;
}

/**
 * Ends a test file: the browser (given ten seconds to close), the servers. A teardown never
 * hangs the run: whatever does not close in time is left to the process's exit.
 */
export async function shutdown(chrome, opora, ...others) {
  if (chrome && !(await settles(chrome.close(), 10_000))) console.error("Chromium did not close within 10 s");
  await opora?.stop();
  for (const other of others) other?.close?.();
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A signed-in page for `agent` in its own browser context (own cookies, own language). */
export async function signIn(chrome, opora, agent, { locale = "ru-RU", viewport = { width: 1280, height: 800 } } = {}) {
  const context = await chrome.newContext({ locale, viewport });
  // Every wait fails by itself well before the test's own limit, saying what it waited for.
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(String(error)));
  page.on("dialog", (dialog) => { page.errors.push(`dialog: ${dialog.message()}`); dialog.dismiss(); });
  await page.goto(`${opora.base}/login`);
  await page.fill("#email", agent.email);
  await page.fill("#password", agent.password);
  await Promise.all([page.waitForURL("**/inbox/**"), page.click("button[type=submit]")]);
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(join(artifacts, "screenshots"), { recursive: true });
  await page.screenshot({ path: join(artifacts, "screenshots", `${name}.png`), fullPage: true });
}

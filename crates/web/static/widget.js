// Opora's website chat: <script src="https://support.example.ru/widget.js" data-channel="5" async></script>
// No dependencies, no third-party code. Lives in a shadow root so the site's styles and ours
// never meet; every text goes in as text, never as HTML.
(() => {
  const tag = document.currentScript;
  if (!tag || !tag.dataset.channel) return;
  const base = new URL(tag.src).origin;
  const api = `${base}/widget/${encodeURIComponent(tag.dataset.channel)}`;
  const ru = (tag.dataset.lang || document.documentElement.lang || navigator.language || "ru").toLowerCase().startsWith("ru");
  const t = ru
    ? { open: "Написать в поддержку", close: "Свернуть чат", title: "Поддержка", placeholder: "Ваше сообщение", send: "Отправить", file: "Приложить файл",
        offline: "Сейчас никого нет на месте. Оставьте e-mail — ответим письмом.", email: "E-mail для ответа", you: "Вы", team: "Поддержка",
        failed: "Не отправилось. Попробуйте ещё раз.", hello: "Здравствуйте! Напишите, чем помочь." }
    : { open: "Chat with support", close: "Minimise chat", title: "Support", placeholder: "Your message", send: "Send", file: "Attach a file",
        offline: "Nobody is here right now. Leave your e-mail and we will answer by mail.", email: "E-mail for the answer", you: "You", team: "Support",
        failed: "Not sent. Please try again.", hello: "Hello! How can we help?" };
  const cookie = `opora_chat_${tag.dataset.channel}`;
  const readCredential = () => (document.cookie.split("; ").find((c) => c.startsWith(`${cookie}=`)) || "").slice(cookie.length + 1);
  let credential = decodeURIComponent(readCredential());
  const shown = new Set();
  let live = null;

  const host = document.createElement("div");
  const root = host.attachShadow({ mode: "open" });
  const el = (name, props = {}, ...children) => {
    const node = Object.assign(document.createElement(name), props);
    node.append(...children);
    return node;
  };
  const style = el("style", { textContent: `
    :host { all: initial; font: 15px/1.4 system-ui, sans-serif; color: #1d2433; }
    * { box-sizing: border-box; }
    button { font: inherit; cursor: pointer; }
    .fab { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 28px; padding: 14px 20px; background: #1f5fbf; color: #fff; box-shadow: 0 4px 14px #0003; }
    .panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483000; width: min(360px, calc(100vw - 40px)); height: min(520px, calc(100vh - 120px));
      display: flex; flex-direction: column; background: #fff; border-radius: 12px; box-shadow: 0 8px 30px #0004; overflow: hidden; }
    .panel[hidden] { display: none; }
    header { display: flex; justify-content: space-between; align-items: center; padding: 12px 16px; background: #1f5fbf; color: #fff; font-weight: 600; }
    header button { background: none; border: 0; color: #fff; font-size: 20px; }
    ol { list-style: none; margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; }
    li { max-width: 85%; padding: 8px 12px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }
    li.visitor { align-self: flex-end; background: #e3edfb; }
    li.agent { align-self: flex-start; background: #f1f2f5; }
    li small { display: block; color: #5b6475; font-size: 12px; }
    li a { color: #1f5fbf; }
    .note { margin: 0 12px 8px; padding: 8px; background: #fff6db; border-radius: 8px; font-size: 13px; }
    form { display: flex; flex-direction: column; gap: 6px; padding: 10px 12px; border-top: 1px solid #e3e5ea; }
    textarea, input { font: inherit; width: 100%; padding: 8px; border: 1px solid #b9c0cc; border-radius: 8px; }
    input[type=file] { flex: 1; min-width: 0; padding: 0; border: 0; font-size: 13px; }
    textarea { resize: none; height: 60px; }
    .row { display: flex; gap: 8px; align-items: center; justify-content: space-between; }
    .send { border: 0; border-radius: 8px; padding: 8px 16px; background: #1f5fbf; color: #fff; }
    :focus-visible { outline: 3px solid #f5b400; outline-offset: 1px; }` });
  const fab = el("button", { className: "fab", type: "button", textContent: t.open });
  fab.setAttribute("aria-expanded", "false");
  const list = el("ol");
  list.setAttribute("aria-live", "polite");
  list.setAttribute("aria-label", t.title);
  const offline = el("p", { className: "note", textContent: t.offline, hidden: true });
  const email = el("input", { type: "email", placeholder: t.email, hidden: true, autocomplete: "email" });
  email.setAttribute("aria-label", t.email);
  const text = el("textarea", { placeholder: t.placeholder });
  text.setAttribute("aria-label", t.placeholder);
  const files = el("input", { type: "file", multiple: true });
  files.setAttribute("aria-label", t.file);
  const error = el("p", { className: "note", hidden: true });
  error.setAttribute("role", "alert");
  const form = el("form", {}, email, text, el("div", { className: "row" }, files, el("button", { className: "send", type: "submit", textContent: t.send })));
  const minimise = el("button", { type: "button", textContent: "×" });
  minimise.setAttribute("aria-label", t.close);
  const panel = el("section", { className: "panel", hidden: true }, el("header", {}, el("span", { textContent: t.title }), minimise), list, offline, error, form);
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", t.title);
  root.append(style, panel, fab);
  document.body.append(host);

  const show = (message) => {
    if (shown.has(message.id)) return;
    shown.add(message.id);
    const item = el("li", { className: message.from }, el("small", { textContent: message.from === "visitor" ? t.you : message.author || t.team }), message.text);
    for (const file of message.files || []) {
      const link = el("a", { href: `${api}/attachments/${file.id}?visitor=${encodeURIComponent(credential)}`, textContent: `📎 ${file.name}`, rel: "noopener" });
      item.append(el("br"), link);
    }
    list.append(item);
    list.scrollTop = list.scrollHeight;
  };
  const call = async (method, path, body) => {
    const response = await fetch(`${api}${path}`, { method, body, headers: body ? { "content-type": "text/plain" } : {}, credentials: "omit" });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(data.title || response.status), { data, status: response.status });
    return data;
  };
  const ensureVisitor = async () => {
    if (credential) return;
    credential = (await call("POST", "/visitors")).visitor;
    document.cookie = `${cookie}=${encodeURIComponent(credential)}; max-age=31536000; path=/; samesite=lax${location.protocol === "https:" ? "; secure" : ""}`;
  };
  const load = async () => {
    await ensureVisitor();
    let data;
    try { data = await call("GET", `/conversation?visitor=${encodeURIComponent(credential)}`); } catch (e) {
      if (e.status !== 404) throw e;
      credential = "";
      await ensureVisitor();
      data = await call("GET", `/conversation?visitor=${encodeURIComponent(credential)}`);
    }
    if (!data.messages.length && !shown.size) list.append(el("li", { className: "agent", textContent: t.hello }));
    data.messages.forEach(show);
    offline.hidden = data.online;
    email.hidden = data.online;
    if (!live) {
      live = new EventSource(`${api}/stream?visitor=${encodeURIComponent(credential)}`);
      live.addEventListener("message", (event) => show(JSON.parse(event.data)));
      live.addEventListener("reload", () => load());
    }
  };
  const toggle = async (open) => {
    panel.hidden = !open;
    fab.setAttribute("aria-expanded", String(open));
    if (open) {
      try { await load(); } catch (e) { error.textContent = e.data?.title || t.failed; error.hidden = false; }
      text.focus();
    } else fab.focus();
  };
  const encoded = (file) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ filename: file.name, content_type: file.type || "application/octet-stream", content_base64: String(reader.result).split(",")[1] || "" });
    reader.onerror = reject;
    reader.readAsDataURL(file);
  });
  fab.addEventListener("click", () => toggle(panel.hidden));
  minimise.addEventListener("click", () => toggle(false));
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") toggle(false); });
  text.addEventListener("keydown", (event) => { if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); } });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim() && !files.files.length) return;
    error.hidden = true;
    try {
      await ensureVisitor();
      const message = { visitor: credential, id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(36).slice(2),
        text: text.value, attachments: await Promise.all([...files.files].map(encoded)) };
      if (email.value.trim()) message.email = email.value.trim();
      await call("POST", "/messages", JSON.stringify(message));
      text.value = "";
      files.value = "";
      await load();
    } catch (e) {
      error.textContent = e.data?.fields?.[0] ? `${e.data.title}` : e.data?.title || t.failed;
      error.hidden = false;
    }
  });
})();

// Opora's agent workspace: the little JavaScript the server-rendered pages need. Changes go to
// the JSON API (session cookie + CSRF token); live updates arrive over the event stream and
// re-render fragments from the server. Event delegation throughout, so re-rendered HTML needs
// no re-binding.
"use strict";

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const body = document.body;
  const csrf = body.dataset.csrf || "";
  const lang = document.documentElement.lang || "ru";
  const i18n = JSON.parse(($("#i18n") || { textContent: "{}" }).textContent);
  const casePage = $(".case-page");
  const caseId = casePage ? casePage.dataset.case : null;

  // ---- talking to the API -------------------------------------------------------------------

  async function api(method, url, payload) {
    // The page's language is the agent's own choice; it wins over the browser's for errors too.
    const headers = { "X-CSRF-Token": csrf, Accept: "application/json", "Accept-Language": lang };
    const options = { method, headers, credentials: "same-origin" };
    if (payload instanceof FormData) {
      options.body = payload;
    } else if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: { title: i18n.offline } };
    }
    if (response.status === 401) {
      // The session ended (expired, signed out elsewhere): sign in again and come back.
      location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      return { ok: false, status: 401, data: {} };
    }
    const text = await response.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch (_) { data = { title: text }; }
    return { ok: response.ok, status: response.status, data };
  }

  function toast(message) {
    const box = $("#toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
  }

  // ---- errors next to the fields they concern -----------------------------------------------

  function clearErrors(scope) {
    $$("[data-error-for]", scope).forEach((slot) => { slot.textContent = ""; });
    $$("[aria-invalid]", scope).forEach((input) => input.removeAttribute("aria-invalid"));
    $$("[data-error-general]", scope).forEach((slot) => { slot.hidden = true; slot.textContent = ""; });
  }

  function showProblem(scope, problem, wrap) {
    clearErrors(scope);
    let placed = false;
    for (const field of problem.fields || []) {
      // `tags.1` is reported on the tags field; `compensation_budget.amount` on a wrapped form's
      // `amount` input.
      const name = field.field;
      const base = name.split(".")[0];
      const inner = wrap && name.startsWith(wrap + ".") ? name.slice(wrap.length + 1) : base;
      const slot = $(`[data-error-for="${CSS.escape(name)}"]`, scope) || $(`[data-error-for="${CSS.escape(base)}"]`, scope);
      const input = $(`[name="${CSS.escape(name)}"]`, scope) || $(`[name="${CSS.escape(inner)}"]`, scope) || $(`[name="${CSS.escape(base)}"]`, scope);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        if (slot && slot.id) input.setAttribute("aria-describedby", slot.id);
      }
      if (slot) {
        slot.textContent = field.message;
        placed = true;
      }
    }
    const general = $("[data-error-general]", scope);
    if (!placed) {
      const text = problem.title || i18n.failed;
      if (general) { general.textContent = text; general.hidden = false; } else { toast(text); }
    }
    const first = $("[aria-invalid]", scope);
    if (first) first.focus();
  }

  // ---- admin: try a channel's connection (a mailbox's servers, an integration's receiver) -----

  async function checkChannel(button) {
    const id = button.dataset.channelCheck;
    const list = $(`[data-check-result="${id}"]`);
    const words = i18n.channel_check;
    const line = (text, cls) => {
      const item = document.createElement("li");
      item.textContent = text;
      if (cls) item.className = cls;
      return item;
    };
    button.disabled = true;
    list.replaceChildren(line(words.running, "muted"));
    list.hidden = false;
    const result = await api("POST", `/api/v1/channels/${id}/check`, {});
    button.disabled = false;
    if (!result.ok) { list.replaceChildren(line(result.data.title || i18n.failed, "error-text")); return; }
    const lines = result.data.map((step) => line(
      `${step.name.toUpperCase()}: ${step.ok ? words.ok : `${words.failed} ${step.error || ""}`}`,
      step.ok ? "check-ok" : "error-text"));
    list.replaceChildren(...(lines.length ? lines : [line(button.dataset.checkNone, "muted")]));
  }

  // ---- forms that post to the API -----------------------------------------------------------

  function valueOf(input) {
    const kind = input.dataset.type;
    const raw = input.type === "checkbox" ? input.checked : input.value.trim();
    switch (kind) {
      case "int": return raw === "" ? null : Number.parseInt(raw, 10);
      case "int-or-null": return raw === "" ? null : Number.parseInt(raw, 10);
      case "number": return raw === "" ? null : Number(raw);
      case "bool": return Boolean(raw);
      case "text-or-null": return raw === "" ? null : raw;
      case "list": return raw === "" ? [] : raw.split(",").map((s) => s.trim()).filter(Boolean);
      case "lines": return raw.split("\n").map((s) => s.trim()).filter(Boolean);
      case "datetime": return raw === "" ? null : new Date(raw).toISOString();
      case "options":
        return raw === "" ? [] : raw.split(",").map((pair) => {
          const [value, labels = ""] = pair.split("=");
          const [ru, en] = labels.split("|");
          return { value: value.trim(), label_ru: (ru || value).trim(), label_en: (en || ru || value).trim() };
        });
      default: return raw;
    }
  }

  function nest(root, path) {
    const parts = path.split(".");
    let at = root;
    parts.forEach((part, index) => {
      const next = parts[index + 1];
      at[part] ||= next !== undefined && /^\d+$/.test(next) ? [] : {};
      at = at[part];
    });
    return at;
  }

  function serialize(form) {
    const data = {};
    for (const input of $$("[name]", form)) {
      if (input.disabled || input.type === "file") continue;
      if (input.dataset.type === "int-list") {
        data[input.name] = data[input.name] || [];
        if (input.checked || input.type === "hidden") data[input.name].push(Number.parseInt(input.value, 10));
        continue;
      }
      const value = valueOf(input);
      if (value === "" && input.tagName === "SELECT") continue;
      // `data-in="settings"` nests the field: {"settings": {"url": …}}; `questions.0` nests it in
      // the first object of a list.
      const into = input.dataset.in ? nest(data, input.dataset.in) : data;
      into[input.name] = value;
    }
    return form.dataset.wrap ? { [form.dataset.wrap]: data } : data;
  }

  function showOnce(form, selector, label, value) {
    const slot = $(selector, form);
    if (!slot) return;
    slot.textContent = "";
    addShown(form, selector, label, value);
  }

  function addShown(form, selector, label, value) {
    const slot = $(selector, form);
    if (!slot) return;
    const title = document.createElement("strong");
    title.textContent = (slot.childNodes.length ? " " : "") + label + " ";
    const code = document.createElement("code");
    code.textContent = value;
    slot.append(title, code);
    slot.hidden = false;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    const [method, url] = form.dataset.api.split(" ");
    const submit = $("[type=submit]", form);
    if (submit) submit.disabled = true;
    const result = await api(method, url, serialize(form));
    if (submit) submit.disabled = false;
    if (!result.ok) {
      showProblem(form, result.data, form.dataset.wrap);
      return;
    }
    clearErrors(form);
    const then = form.dataset.then || "reload";
    if (then === "reload") location.reload();
    else if (then === "refresh") { toast(i18n.saved); refreshCase(); }
    else if (then === "close-refresh") { form.closest("dialog")?.close(); form.reset(); refreshCase(); }
    else if (then === "reset-saved") { form.reset(); toast(i18n.saved); }
    else if (then === "show-password") { showOnce(form, "[data-generated-password]", i18n.generated_password, result.data.password || ""); form.reset(); }
    else if (then === "show-secret") {
      showOnce(form, "[data-generated-secret]", i18n.generated_secret, result.data.secret || "");
      if (result.data.inbound_url) addShown(form, "[data-generated-secret]", i18n.inbound_url, result.data.inbound_url);
      form.reset();
    }
    else if (then === "show-token") { showOnce(form, "[data-generated-token]", i18n.generated_token, result.data.token || ""); form.reset(); }
  });

  document.addEventListener("click", async (event) => {
    const target = event.target;
    const remove = target.closest("[data-delete]");
    if (remove) {
      if (!confirm(i18n.confirm_delete)) return;
      const result = await api("DELETE", remove.dataset.delete);
      if (result.ok) location.reload(); else toast(result.data.title || i18n.failed);
      return;
    }
    const check = target.closest("[data-channel-check]");
    if (check) { checkChannel(check); return; }
    const opener = target.closest("[data-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.open);
      if (dialog) { clearErrors(dialog); dialog.showModal(); $("select, input, textarea", dialog)?.focus(); }
      return;
    }
    if (target.closest("[data-close]")) { target.closest("dialog")?.close(); return; }
    const suggested = target.closest("[data-playbook-reply]");
    if (suggested) {
      // The playbook's reply goes into the composer, after whatever the agent already wrote.
      const body = $("#composer-body");
      if (body) { body.value = body.value.trim() ? `${body.value.trimEnd()}\n\n${suggested.dataset.playbookReply}` : suggested.dataset.playbookReply; body.focus(); body.dispatchEvent(new Event("input")); }
      return;
    }
    const takeOut = target.closest("[data-take-out]");
    if (takeOut) {
      const id = takeOut.dataset.takeOut;
      const result = await api("DELETE", `/api/v1/cases/${caseId}/participants/${id}`);
      if (!result.ok) { toast(result.data.title || i18n.failed); return; }
      $(`input[name=copy][value="${CSS.escape(id)}"]`)?.closest("label")?.remove();
      // Gone at once (the side panel is not redrawn under the focus; the button had it).
      takeOut.closest("li")?.remove();
      refreshCase();
      return;
    }
    if (target.closest("[data-take]")) {
      const result = await api("POST", `/api/v1/cases/${caseId}/take`, {});
      if (result.ok) refreshCase(); else toast(result.data.title || i18n.failed);
      return;
    }
    const release = target.closest("[data-release]");
    if (release) {
      const result = await api("DELETE", `/api/v1/cases/${caseId}/collaborators/${release.dataset.release}`);
      if (result.ok) refreshCase(); else toast(result.data.title || i18n.failed);
      return;
    }
    const row = target.closest("tr[data-href]");
    if (row && !target.closest("a, button, input, select")) location.assign(row.dataset.href);
  });

  // Admin: an agent's role or active flag saves as soon as it changes.
  document.addEventListener("change", async (event) => {
    const input = event.target;
    if (input.dataset.agentField) {
      const value = input.type === "checkbox" ? input.checked : input.value;
      const result = await api("PATCH", `/api/v1/agents/${input.dataset.agent}`, { [input.dataset.agentField]: value });
      if (result.ok) toast(i18n.saved); else { toast(result.data.title || i18n.failed); setTimeout(() => location.reload(), 1500); }
    }
  });

  // ---- times in the reader's zone and language ----------------------------------------------

  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const absolute = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });

  function formatTimes(root = document) {
    const now = Date.now();
    for (const element of $$("time[datetime]", root)) {
      const at = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(at.getTime())) continue;
      element.title = absolute.format(at);
      if (!element.classList.contains("relative")) { element.textContent = absolute.format(at); continue; }
      const seconds = Math.round((at.getTime() - now) / 1000);
      const distance = Math.abs(seconds);
      let text;
      if (distance < 45) text = i18n.now;
      else if (distance < 3600) text = relative.format(Math.round(seconds / 60), "minute");
      else if (distance < 86400) text = relative.format(Math.round(seconds / 3600), "hour");
      else if (distance < 7 * 86400) text = relative.format(Math.round(seconds / 86400), "day");
      else text = absolute.format(at);
      element.textContent = text;
    }
  }
  formatTimes();
  setInterval(formatTimes, 60000);

  // ---- keyboard -----------------------------------------------------------------------------

  function typingInField(event) {
    const tag = (event.target.tagName || "").toLowerCase();
    return ["input", "textarea", "select"].includes(tag) || event.target.isContentEditable;
  }

  function selectRow(delta) {
    const rows = $$("tr.case-row");
    if (!rows.length) return;
    const current = rows.findIndex((row) => row.classList.contains("selected"));
    const next = Math.max(0, Math.min(rows.length - 1, current + delta));
    rows.forEach((row) => row.classList.remove("selected"));
    rows[next].classList.add("selected");
    rows[next].scrollIntoView({ block: "nearest" });
    $("a", rows[next])?.focus({ preventScroll: true });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event)) {
      if (event.key === "Escape" && typingInField(event)) event.target.blur();
      return;
    }
    if (event.key === "/") { event.preventDefault(); $("#search")?.focus(); return; }
    if (event.key === "j") { selectRow(1); return; }
    if (event.key === "k") { selectRow(-1); return; }
    if (event.key === "Enter") {
      const row = $("tr.case-row.selected");
      if (row) { event.preventDefault(); location.assign(row.dataset.href); }
      return;
    }
    if (casePage && (event.key === "r" || event.key === "n")) {
      event.preventDefault();
      setComposerKind(event.key === "r" ? "reply" : "note");
      $("#composer-body")?.focus();
    }
  });

  // ---- notifications ------------------------------------------------------------------------

  async function refreshCounts() {
    const result = await api("GET", "/ui/counts");
    if (!result.ok) return;
    const badge = $("#unread");
    if (badge) { badge.textContent = result.data.unread; badge.hidden = !result.data.unread; }
    for (const [view, count] of Object.entries(result.data.views || {})) {
      const slot = $(`[data-count="${view}"]`);
      if (slot) slot.textContent = count;
    }
  }

  async function showNotifications() {
    const list = $("#notification-list");
    const result = await api("GET", "/api/v1/notifications?limit=20");
    if (!result.ok || !list) return;
    list.textContent = "";
    if (!result.data.items.length) {
      const empty = document.createElement("li");
      empty.textContent = i18n.no_notifications;
      list.append(empty);
    }
    for (const item of result.data.items) {
      const entry = document.createElement("li");
      if (!item.read) entry.classList.add("unread");
      const link = document.createElement("a");
      link.href = item.case_id ? `/cases/${item.case_id}` : "#";
      link.textContent = `${(i18n.notification_kinds || {})[item.kind] || item.kind}: #${item.case_number || ""} ${item.case_subject || ""}`;
      const when = document.createElement("time");
      when.className = "relative sub";
      when.setAttribute("datetime", item.created_at);
      entry.append(link, when);
      list.append(entry);
    }
    formatTimes(list);
  }

  $("#bell")?.addEventListener("click", async () => {
    const panel = $("#notifications");
    const open = panel.hidden;
    panel.hidden = !open;
    $("#bell").setAttribute("aria-expanded", String(open));
    if (open) await showNotifications();
  });
  $("#mark-all-read")?.addEventListener("click", async () => {
    await api("POST", "/api/v1/notifications/read", {});
    await showNotifications();
    refreshCounts();
  });
  if (csrf) refreshCounts();

  // ---- live updates -------------------------------------------------------------------------

  const KINDS = ["case.created", "case.updated", "case.status_changed", "case.owner_assigned", "case.owner_transferred",
    "case.collaborator_added", "case.collaborator_removed", "case.deadline_missed", "message.added",
    "message.delivery_changed", "compensation.granted", "customer.updated", "customer.merged"];

  function debounce(fn, wait) {
    let timer;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), wait); };
  }

  const refreshRows = debounce(async () => {
    const rows = $("#rows");
    if (!rows || rows.dataset.live !== "rows") return;
    const url = new URL(location.href);
    url.searchParams.set("partial", "rows");
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const selected = $("tr.case-row.selected")?.dataset.case;
    const known = new Set($$("tr.case-row").map((row) => row.dataset.case));
    rows.innerHTML = await response.text();
    for (const row of $$("tr.case-row", rows)) {
      if (!known.has(row.dataset.case)) row.classList.add("fresh");
      if (row.dataset.case === selected) row.classList.add("selected");
    }
    formatTimes(rows);
  }, 400);

  let refreshing = false;
  async function refreshCaseNow() {
    if (!caseId || refreshing) return;
    refreshing = true;
    const response = await fetch(`/cases/${caseId}/live${location.search}`, { credentials: "same-origin" });
    refreshing = false;
    if (!response.ok) return;
    const parts = await response.json();
    $("#case-head").innerHTML = parts.case_head;
    $("#case-thread").innerHTML = parts.case_thread;
    // Do not pull the form away from someone editing a property.
    const side = $("#case-side");
    if (!side.contains(document.activeElement)) side.innerHTML = parts.case_side;
    formatTimes();
    setDeadlineInputs();
  }
  const refreshCase = debounce(refreshCaseNow, 200);

  // A customer calling: who it is and their open cases, until it is dismissed or a minute passes.
  function showCall(call) {
    const card = document.createElement("aside");
    card.className = "call-card";
    card.setAttribute("role", "alert");
    const title = document.createElement("strong");
    title.textContent = `${i18n.call_ringing} ${call.name || ""} ${call.number || ""}`.trim();
    card.append(title);
    const cases = document.createElement("ul");
    for (const [id, number, subject] of call.open_cases || []) {
      const link = document.createElement("a");
      link.href = `/cases/${id}`;
      link.textContent = `#${number} ${subject}`;
      const item = document.createElement("li");
      item.append(link);
      cases.append(item);
    }
    if (!cases.children.length) {
      const none = document.createElement("li");
      none.textContent = i18n.call_no_cases;
      cases.append(none);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link-button";
    close.textContent = i18n.call_dismiss;
    close.addEventListener("click", () => card.remove());
    card.append(cases, close);
    document.body.append(card);
    setTimeout(() => card.remove(), 60000);
  }

  function connect() {
    if (!csrf || !window.EventSource) return;
    // Resume from the page's own moment; reconnects send Last-Event-ID, which takes precedence.
    const source = new EventSource(`/api/v1/events/stream?after=${encodeURIComponent(body.dataset.liveAfter || "")}`);
    const banner = $("#live-status");
    source.onopen = () => { if (banner) banner.hidden = true; };
    source.onerror = () => { if (banner) banner.hidden = false; };
    const handle = (event) => {
      let data = {};
      try { data = JSON.parse(event.data); } catch (_) { return; }
      refreshCounts();
      if ($("#rows")) refreshRows();
      if (caseId && String(data.case_id) === caseId) refreshCase();
    };
    KINDS.forEach((kind) => source.addEventListener(kind, handle));
    source.addEventListener("call.ringing", (event) => {
      let data = {};
      try { data = JSON.parse(event.data).data || {}; } catch (_) { return; }
      showCall(data);
    });
  }
  connect();

  // ---- the case page ------------------------------------------------------------------------

  const composer = $("#composer");
  const bodyInput = $("#composer-body");
  let composerKind = "reply";
  let files = [];

  function setComposerKind(kind) {
    if (!composer) return;
    composerKind = kind;
    for (const tab of $$("[role=tab]", composer)) tab.setAttribute("aria-selected", String(tab.dataset.kind === kind));
    composer.classList.toggle("note-mode", kind === "note");
    const hint = $("#composer-hint");
    if (hint && bodyInput) hint.textContent = kind === "note" ? bodyInput.dataset.hintNote : bodyInput.dataset.hintReply;
    const after = $("#status-after");
    if (after) after.disabled = kind === "note";
  }

  function renderFiles() {
    const list = $("#file-list");
    if (!list) return;
    list.textContent = "";
    files.forEach((file, index) => {
      const item = document.createElement("li");
      item.textContent = `📎 ${file.name} (${Math.ceil(file.size / 1024)} KB) `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link-button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", file.name);
      remove.addEventListener("click", () => { files.splice(index, 1); renderFiles(); });
      item.append(remove);
      list.append(item);
    });
  }

  function setDeadlineInputs() {
    for (const input of $$("input[data-type=datetime]")) {
      const value = input.dataset.value;
      if (!value) continue;
      const at = new Date(value);
      const local = new Date(at.getTime() - at.getTimezoneOffset() * 60000);
      input.value = local.toISOString().slice(0, 16);
    }
  }
  setDeadlineInputs();

  if (composer && bodyInput) {
    const draftKey = `opora:draft:${caseId}`;
    const saved = localStorage.getItem(draftKey);
    if (saved) {
      try {
        const draft = JSON.parse(saved);
        bodyInput.value = draft.text || "";
        setComposerKind(draft.kind || "reply");
        if (draft.text) toast(i18n.draft_restored);
      } catch (_) { localStorage.removeItem(draftKey); }
    }
    const saveDraft = debounce(() => {
      if (bodyInput.value.trim()) localStorage.setItem(draftKey, JSON.stringify({ text: bodyInput.value, kind: composerKind }));
      else localStorage.removeItem(draftKey);
    }, 300);
    bodyInput.addEventListener("input", () => { saveDraft(); markTyping(); });
    $$("[role=tab]", composer).forEach((tab) => tab.addEventListener("click", () => { setComposerKind(tab.dataset.kind); saveDraft(); }));
    $("#composer-files")?.addEventListener("change", (event) => { files.push(...event.target.files); event.target.value = ""; renderFiles(); });
    const zone = $("#dropzone");
    zone?.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
    zone?.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone?.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      files.push(...event.dataTransfer.files);
      renderFiles();
    });
    $("#template-picker")?.addEventListener("change", (event) => {
      const templates = JSON.parse(($("#templates-data") || { textContent: "[]" }).textContent);
      const chosen = templates[Number(event.target.value)];
      if (chosen) {
        const start = bodyInput.selectionStart ?? bodyInput.value.length;
        bodyInput.value = bodyInput.value.slice(0, start) + chosen.body + bodyInput.value.slice(bodyInput.selectionEnd ?? start);
        bodyInput.focus();
        saveDraft();
      }
      event.target.value = "";
    });
    // Outside a messenger's reply window only an approved template goes: its variables are
    // asked for one by one and the text the customer will read is shown.
    const windowTemplates = JSON.parse(($("#window-templates") || { textContent: "[]" }).textContent);
    const chosenTemplate = () => {
      const picked = $("#window-template")?.value;
      return picked ? windowTemplates[Number(picked)] : null;
    };
    const templateVariables = () => $$("#window-variables input").map((input) => input.value);
    const previewTemplate = () => {
      const chosen = chosenTemplate();
      const values = templateVariables();
      $("#window-preview").textContent = chosen ? chosen.body.replace(/\{\{(\d+)\}\}/g, (all, n) => values[Number(n) - 1] || all) : "";
    };
    $("#window-template")?.addEventListener("change", () => {
      const box = $("#window-variables");
      box.replaceChildren();
      const chosen = chosenTemplate();
      for (let n = 1; chosen && n <= chosen.variables; n++) {
        const label = document.createElement("label");
        label.textContent = `{{${n}}}`;
        const input = document.createElement("input");
        input.id = `window-variable-${n}`;
        label.htmlFor = input.id;
        input.addEventListener("input", previewTemplate);
        box.append(label, input);
      }
      previewTemplate();
    });
    composer.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData();
      form.append("kind", composerKind);
      const template = composerKind === "reply" && $("#reply-window") ? chosenTemplate() : null;
      if (template) form.append("template", JSON.stringify({ name: template.name, language: template.language, variables: templateVariables() }));
      else form.append("body_text", bodyInput.value);
      const after = $("#status-after");
      if (composerKind === "reply" && after && after.value) form.append("status_after", after.value);
      const via = $("#reply-via");
      if (composerKind === "reply" && via && via.value) form.append("channel_id", via.value);
      const copies = $$("input[name=copy]", composer);
      if (composerKind === "reply" && copies.length) form.append("copies", copies.filter((c) => c.checked).map((c) => c.value).join(","));
      const confirmed = $("input[name=confirm_recipients]", composer);
      if (composerKind === "reply" && confirmed?.checked) form.append("confirm_recipients", "true");
      files.forEach((file) => form.append("attachments", file, file.name));
      const send = $("#composer-send");
      send.disabled = true;
      const result = await api("POST", `/api/v1/cases/${caseId}/messages`, form);
      send.disabled = false;
      if (!result.ok) {
        showProblem(composer, result.data);
        // Many recipients: the agent confirms before it goes.
        if ((result.data.fields || []).some((f) => f.code === "confirm_recipients")) $("[data-confirm-recipients]", composer).hidden = false;
        return;
      }
      clearErrors(composer);
      if (confirmed) { confirmed.checked = false; confirmed.closest("[data-confirm-recipients]").hidden = true; }
      bodyInput.value = "";
      files = [];
      renderFiles();
      localStorage.removeItem(draftKey);
      if (after) after.value = "";
      toast(i18n.sent);
      await refreshCaseNow();
      reportPresence(false);
    });
  }

  // Properties save as soon as they change.
  document.addEventListener("change", async (event) => {
    const input = event.target;
    if (input.id === "our-client") {
      const result = await api("PATCH", `/api/v1/customers/${input.dataset.customer}`, { our_client: input.checked });
      if (result.ok) { toast(i18n.saved); refreshCase(); } else toast(result.data.title || i18n.failed);
      return;
    }
    if (input.matches("[data-step]")) {
      // A checklist step is saved as it is ticked; a refusal puts the box back.
      const result = await api("POST", `/api/v1/cases/${caseId}/playbook/steps/${input.dataset.step}`, { done: input.checked });
      if (!result.ok) { input.checked = !input.checked; toast(result.data.title || i18n.failed); return; }
      // The panel is redrawn with the new progress, and the focus comes back to the same step.
      const step = input.dataset.step;
      input.blur();
      await refreshCaseNow();
      $(`input[data-step="${CSS.escape(step)}"]`)?.focus();
      toast(i18n.saved);
      return;
    }
    if (!input.matches("[data-prop]")) return;
    const props = input.closest("form");
    const name = input.name;
    let value = valueOf(input);
    if (input.tagName === "SELECT" && value === "" && !input.dataset.type) value = null;
    const payload = name.startsWith("custom_fields.") ? { custom_fields: { [name.slice(14)]: value === "" ? null : value } } : { [name]: value };
    const result = await api("PATCH", `/api/v1/cases/${caseId}`, payload);
    if (!result.ok) {
      // A refusal that names no field (an invalid status change) belongs to the field just changed.
      const problem = result.data.fields ? result.data : { ...result.data, fields: [{ field: name, message: result.data.title }] };
      showProblem(props, problem);
      if (input.tagName === "SELECT") {
        const saved = Array.from(input.options).find((option) => option.defaultSelected);
        if (saved) input.value = saved.value;
      }
      return;
    }
    clearErrors(props);
    toast(i18n.saved);
    input.blur();
    refreshCase();
  });

  // ---- who else is here ---------------------------------------------------------------------

  let typingUntil = 0;
  let typingReported = false;
  function markTyping() {
    const wasTyping = Date.now() < typingUntil;
    typingUntil = Date.now() + 5000;
    if (!wasTyping || !typingReported) reportPresence(true);
  }

  let presenceReported = false;
  async function reportPresence(typing) {
    if (!caseId) return;
    const isTyping = typing ?? Date.now() < typingUntil;
    typingReported = isTyping;
    const result = await api("POST", `/api/v1/cases/${caseId}/presence`, { typing: isTyping });
    if (!result.ok) return;
    // Being on the case reads what concerned me about it: the bell follows.
    if (!presenceReported) { presenceReported = true; refreshCounts(); }
    const banner = $("#collision");
    if (!banner) return;
    const others = result.data;
    const typers = others.filter((v) => v.typing).map((v) => v.name);
    const viewers = others.map((v) => v.name);
    if (typers.length) banner.textContent = i18n.typing.replace("{names}", typers.join(", "));
    else if (viewers.length) banner.textContent = i18n.viewing.replace("{names}", viewers.join(", "));
    banner.hidden = !viewers.length;
  }

  // With company on the case the page asks every two seconds, so a colleague starting to type
  // shows at once (the typing mark lasts five); alone, every eight.
  async function keepReporting() {
    await reportPresence();
    const company = $("#collision") && !$("#collision").hidden;
    setTimeout(keepReporting, company ? 2000 : 8000);
  }

  if (caseId) {
    reportPresence(false);
    setTimeout(keepReporting, 8000);
    window.addEventListener("pagehide", () => {
      fetch(`/api/v1/cases/${caseId}/presence`, { method: "DELETE", keepalive: true, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
    });
  }
})();

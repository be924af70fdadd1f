/* The inbox page: live updates over one WebSocket, keyboard, reply box. Server-rendered
   fragments do the drawing; this file only decides which fragment to fetch and where.
   Every id here is a public id (a UUIDv7 string): those of events sort by time as strings. */
(() => {
  "use strict";
  const app = document.getElementById("app");
  if (!app) return;
  const strings = JSON.parse(document.getElementById("inbox-strings").textContent);
  const canned = JSON.parse(document.getElementById("canned-responses").textContent || "[]");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const seen = new Set();
  let lastEventId = app.dataset.lastEvent || null;  // null: resume from the start of the log
  let socket = null;
  let attempt = 0;
  let typingSentAt = 0;
  let typingTimer = null;

  const $ = (selector, root = document) => root.querySelector(selector);
  const openConversationId = () => ($(".thread") || {}).dataset?.conversationId || null;
  const filters = () => new URLSearchParams(new FormData($("#filters"))).toString();

  // --- connection ----------------------------------------------------------------------
  function setConnection(state) {
    const badge = $("#connection");
    badge.dataset.state = state;
    badge.textContent = strings[state];
  }

  // The page is going away (a link, the logout form): an answer that says the session ended is
  // that navigation's doing, and reloading would cut it short.
  let leaving = false;
  // (Still here a moment later, as after a download: not leaving after all.)
  window.addEventListener("beforeunload", () => { leaving = true; setTimeout(() => { leaving = false; }, 3000); });
  window.addEventListener("pagehide", () => { leaving = true; });
  const reloadUnlessLeaving = () => { if (!leaving) location.reload(); };
  // htmx's answers too (a 401's HX-Redirect would send the page to the login over the navigation).
  document.body.addEventListener("htmx:beforeOnLoad", (event) => { if (leaving) event.preventDefault(); });

  function connect() {
    setConnection(attempt ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + app.dataset.wsUrl);
    socket.onmessage = (message) => handle(JSON.parse(message.data));
    socket.onclose = (closed) => {
      setConnection("reconnecting");
      if (closed.code === 4401 || closed.code === 4403) { reloadUnlessLeaving(); return; }
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    };
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function handle(frame) {
    if (frame.type === "ready") {
      send({ type: "resume", after: lastEventId });
    } else if (frame.type === "resumed" || frame.type === "resync") {
      attempt = 0;
      setConnection("online");
      if (frame.type === "resync") { reloadList(); refreshBanners(); }
    } else if (frame.type === "event") {
      if (frame.id !== null && seen.has(frame.id)) return;
      if (frame.id !== null) { seen.add(frame.id); if (!lastEventId || frame.id > lastEventId) lastEventId = frame.id; }
      applyEvent(frame);
    } else if (frame.type === "typing") {
      showTyping(frame);
    } else if (frame.type === "presence") {
      showPresence(frame);
    } else if (frame.type === "notice") {
      showNotices(frame);
    }
  }

  // A notice for this member (an alert): the bell's count and what it says to a screen reader.
  function showNotices(frame) {
    const bell = $(".topbar .bell");
    if (!bell) return;
    bell.dataset.noticesUnread = String(frame.unread);
    bell.setAttribute("aria-label", frame.label);
    const count = bell.querySelector(".bell-count");
    count.textContent = String(frame.unread);
    count.hidden = !frame.unread;
  }

  // --- what an event changes on the page -----------------------------------------------
  const pendingRows = new Set();
  let rowTimer = null;
  let unreadTimer = null;
  let countsTimer = null;

  function applyEvent(frame) {
    const data = frame.data || {};
    const conversationId = data.conversation_id;
    if (frame.name.startsWith("message.")) {
      if (conversationId === openConversationId()) {
        upsertBubble(data.message_id);
        if (frame.name === "message.created" && data.direction === "INBOUND") {
          showPresence({ conversation_id: conversationId, state: "idle" });  // what they typed is here
          if (document.visibilityState === "visible") markRead(conversationId);
        }
      }
    } else if (frame.name.startsWith("conversation.") && conversationId === openConversationId()
               && frame.name !== "conversation.read") {
      refreshHeader(conversationId);
    }
    if (conversationId) queueRow(conversationId);
    if (frame.name === "contact.updated") {  // a new name (a group's subject): its rows and open thread
      document.querySelectorAll(`#rows .row[data-contact-id="${data.contact_id}"]`).forEach((row) => queueRow(row.dataset.id));
      if (($(".thread") || {}).dataset?.contactId === data.contact_id) refreshHeader(openConversationId());
    }
    if (frame.name === "contact.merged") {  // the merged contact's rows now show the kept one
      document.querySelectorAll(`#rows .row[data-contact-id="${data.merged_contact_id}"], #rows .row[data-contact-id="${data.contact_id}"]`)
        .forEach((row) => queueRow(row.dataset.id));
      if ([data.merged_contact_id, data.contact_id].includes(($(".thread") || {}).dataset?.contactId)) refreshHeader(openConversationId());
    }
    if (frame.name.startsWith("channel.")) { reloadList(); refreshBanners(); }
    // What moves a conversation between tabs (a new one, a reply reopening it, an agent's
    // action): the tabs' counts follow.
    if (frame.name === "message.created" || (frame.name.startsWith("conversation.") && frame.name !== "conversation.read")) {
      clearTimeout(countsTimer);
      countsTimer = setTimeout(refreshCounts, 150);
    }
    clearTimeout(unreadTimer);
    unreadTimer = setTimeout(refreshUnread, 300);
  }

  async function fetchText(url, options = {}) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" }, ...options });
    if (response.status === 401) { reloadUnlessLeaving(); return null; }
    return response;
  }

  // Each fragment request gets a ticket; an answer that a newer request overtook is dropped.
  const tickets = new Map();
  const ticket = (key) => { const next = (tickets.get(key) || 0) + 1; tickets.set(key, next); return next; };
  const stale = (key, number) => tickets.get(key) !== number;

  async function upsertBubble(messageId) {
    const number = ticket(`message-${messageId}`);
    const response = await fetchText(`/inbox/messages/${messageId}/`);
    if (!response || !response.ok) return;
    const html = (await response.text()).trim();
    if (stale(`message-${messageId}`, number)) return;
    const existing = document.getElementById(`message-${messageId}`);
    const list = $("#messages");
    if (existing) { existing.outerHTML = html; return; }
    if (!list) return;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    const holder = document.createElement("div");
    holder.innerHTML = html;
    const bubble = holder.firstElementChild;
    const lastBubble = [...list.querySelectorAll(".bubble")].pop();
    if (!lastBubble || lastBubble.dataset.date !== bubble.dataset.date) {
      const separator = document.createElement("div");
      separator.className = "date-separator";
      separator.dataset.date = bubble.dataset.date;
      // The server's words for the day, as the separators it drew (one format on the page).
      const label = document.createElement("span");
      label.textContent = bubble.dataset.dateLabel;
      separator.appendChild(label);
      list.appendChild(separator);
    }
    list.appendChild(bubble);
    htmx.process(bubble);
    relativeTimes(bubble);
    if (nearBottom) list.scrollTop = list.scrollHeight;
  }

  function queueRow(conversationId) {
    pendingRows.add(conversationId);
    clearTimeout(rowTimer);
    rowTimer = setTimeout(flushRows, 50);
  }

  function flushRows() {
    const ids = [...pendingRows];
    pendingRows.clear();
    ids.forEach(refreshRow);
  }

  async function refreshRow(conversationId) {
    const number = ticket(`conversation-${conversationId}`);
    const response = await fetchText(`/inbox/rows/${conversationId}/?${filters()}`);
    if (!response || (!response.ok && response.status !== 204)) return;
    const html = response.status === 204 ? "" : (await response.text()).trim();
    if (stale(`conversation-${conversationId}`, number)) return;
    const current = document.getElementById(`conversation-${conversationId}`);
    if (!html) { if (current) current.remove(); return; }
    const holder = document.createElement("ul");
    holder.innerHTML = html;
    const row = holder.firstElementChild;
    if (current) current.remove();
    const rows = $("#rows");
    const activity = row.dataset.activity;
    const after = [...rows.querySelectorAll(".row")].find((other) => other.dataset.activity < activity);
    const more = rows.querySelector(".load-more");
    if (after) rows.insertBefore(row, after);
    else if (!more) rows.appendChild(row);
    else return;  // older than every row loaded: it comes with the next page
    rows.querySelector(".empty-list")?.remove();
    if (conversationId === openConversationId()) row.classList.add("active");
    htmx.process(row);
    relativeTimes(row);
  }

  async function refreshHeader(conversationId) {
    const response = await fetchText(`/inbox/c/${conversationId}/header/`);
    if (!response || !response.ok || conversationId !== openConversationId()) return;
    const header = $("#thread-header");
    header.innerHTML = await response.text();
    htmx.process(header);
  }

  // The banners of channels down (a channel disconnected, in error, back again), for those who manage them.
  async function refreshBanners() {
    const number = ticket("banners");
    const response = await fetchText("/inbox/banners/");
    if (!response || !response.ok) return;
    const html = await response.text();
    if (stale("banners", number)) return;
    $("#banners").innerHTML = html;
  }

  async function refreshCounts() {
    const number = ticket("counts");
    const response = await fetchText(`/inbox/counts/?${filters()}`);
    if (!response || !response.ok) return;
    const counts = await response.json();
    if (stale("counts", number)) return;
    Object.entries(counts).forEach(([tab, count]) => {
      const badge = document.getElementById(`count-${tab}`);
      if (badge) badge.textContent = count;
    });
  }

  function reloadList() {
    htmx.trigger("#filters", "submit");
  }

  async function refreshUnread() {
    const response = await fetchText("/inbox/unread/");
    if (!response || !response.ok) return;
    const { unread, label } = await response.json();
    document.title = (unread ? `(${label}) ` : "") + app.dataset.title;
  }

  function markRead(conversationId) {
    fetch(`/inbox/c/${conversationId}/read/`, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf } });
  }

  // --- typing --------------------------------------------------------------------------
  function showTyping(frame) {
    if (frame.conversation_id !== openConversationId()) return;
    const line = $("#typing");
    line.textContent = strings.typing.replace("%(name)s", frame.user.name);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { line.textContent = ""; }, 6000);
  }

  // The contact typing or recording a voice note: shown for a few seconds (the provider says
  // when they stop, or a message comes; either may be lost).
  let presenceTimer = null;
  function showPresence(frame) {
    const line = $("#presence");
    if (!line || frame.conversation_id !== openConversationId()) return;
    clearTimeout(presenceTimer);
    line.textContent = { typing: strings.contact_typing, recording: strings.contact_recording }[frame.state] || "";
    if (line.textContent) presenceTimer = setTimeout(() => { line.textContent = ""; }, 8000);
  }

  document.addEventListener("input", (event) => {
    if (event.target.id !== "reply-text") return;
    const now = Date.now();
    if (now - typingSentAt > 3000 && openConversationId()) {
      typingSentAt = now;
      send({ type: "typing", conversation_id: openConversationId() });
    }
    updateCannedMenu();
  });

  // --- reply box -----------------------------------------------------------------------
  function replyMode() { return ($("#reply-form input[name=private]:checked") || {}).value === "1" ? "note" : "reply"; }

  function updateComposer() {
    const form = $("#reply-form");
    if (!form) return;
    const closed = form.dataset.windowOpen === "0" && replyMode() === "reply";
    form.classList.toggle("note-mode", replyMode() === "note");
    form.querySelector("button[type=submit]").disabled = closed;
    $("#reply-text").disabled = closed;
  }

  document.addEventListener("change", (event) => {
    if (event.target.name === "private") { updateComposer(); $("#reply-text")?.focus(); }
  });

  function cannedMatches() {
    const text = $("#reply-text")?.value || "";
    const match = /(?:^|\s)\/([\w-]*)$/.exec(text);
    if (!match) return null;
    return { query: match[1], items: canned.filter((item) => item.short_code.startsWith(match[1])).slice(0, 8) };
  }

  let cannedIndex = 0;
  function updateCannedMenu() {
    const menu = $("#canned-menu");
    if (!menu) return;
    const found = cannedMatches();
    if (!found || !found.items.length) { menu.hidden = true; return; }
    cannedIndex = Math.min(cannedIndex, found.items.length - 1);
    menu.replaceChildren(...found.items.map((item, index) => {
      const entry = document.createElement("li");
      entry.setAttribute("role", "option");
      entry.className = index === cannedIndex ? "selected" : "";
      const code = document.createElement("strong");
      code.textContent = "/" + item.short_code;
      entry.append(code, " ", item.content.slice(0, 80));
      entry.addEventListener("mousedown", (event) => { event.preventDefault(); insertCanned(item); });
      return entry;
    }));
    menu.hidden = false;
  }

  function insertCanned(item) {
    const box = $("#reply-text");
    box.value = box.value.replace(/\/[\w-]*$/, item.content);
    $("#canned-menu").hidden = true;
    cannedIndex = 0;
    box.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.id !== "reply-text") return;
    const menu = $("#canned-menu");
    const found = menu && !menu.hidden ? cannedMatches() : null;
    if (found && found.items.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        cannedIndex = (cannedIndex + (event.key === "ArrowDown" ? 1 : -1) + found.items.length) % found.items.length;
        updateCannedMenu();
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); insertCanned(found.items[cannedIndex]); return; }
      if (event.key === "Escape") { menu.hidden = true; return; }
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (event.target.value.trim() || $("#reply-form input[type=file]").files.length) $("#reply-form").requestSubmit();
    }
  }, true);

  // --- htmx wiring ---------------------------------------------------------------------
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr, requestConfig } = event.detail;
    if (["reply-form", "template-form"].includes(requestConfig.elt.id) && xhr.status === 200) {
      // The socket may have shown this bubble already (and fresher): never add it twice.
      const id = /^\s*<article id="(message-[0-9a-f-]+)"/.exec(xhr.responseText);
      if (id && document.getElementById(id[1])) event.detail.shouldSwap = false;
    }
    if (xhr.status >= 400 && xhr.status < 500) {
      const form = requestConfig.elt.closest("#reply-form, #template-form");
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      event.detail.target = form ? $("#reply-error") : ($("#header-error") || $("#reply-error"));
      event.detail.swapOverride = "innerHTML";
    }
    const older = requestConfig.elt.classList?.contains("load-older");
    if (older) app.dataset.scrollFromBottom = $("#messages").scrollHeight - $("#messages").scrollTop;
  });

  document.body.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (form.id === "template-form" && event.detail.successful) { form.reset(); form.querySelector(".template-params").replaceChildren(); }
    if (form.id === "reply-form" && event.detail.successful) {
      form.reset();
      $("#reply-error").textContent = "";
      updateComposer();
      const list = $("#messages");
      list.scrollTop = list.scrollHeight;
    }
  });

  document.body.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target.id === "thread") openedThread();
    // A new list (the filters changed): its tabs' counts come on their own request, after it.
    if (target.id === "rows" && event.detail.requestConfig?.elt?.id === "filters") refreshCounts();
    if (app.dataset.scrollFromBottom && $("#messages")) {
      const list = $("#messages");
      list.scrollTop = list.scrollHeight - Number(app.dataset.scrollFromBottom);
      delete app.dataset.scrollFromBottom;
    }
    relativeTimes(target);
  });

  function openedThread() {
    const id = openConversationId();
    document.querySelectorAll("#rows .row").forEach((row) => {
      row.classList.toggle("active", row.dataset.id === id);
      if (row.dataset.id === id) { row.classList.remove("unread"); row.querySelector(".badge")?.remove(); }
    });
    const list = $("#messages");
    if (list) list.scrollTop = list.scrollHeight;
    $("#typing") && ($("#typing").textContent = "");
    $("#presence") && ($("#presence").textContent = "");
    updateComposer();
    refreshUnread();
  }

  document.addEventListener("scroll", (event) => {
    if (event.target.id === "messages" && event.target.scrollTop < 40) $(".load-older", event.target)?.click();
  }, true);

  // --- keyboard ------------------------------------------------------------------------
  function moveSelection(step) {
    const rows = [...document.querySelectorAll("#rows .row")];
    if (!rows.length) return;
    const index = rows.findIndex((row) => row.classList.contains("active"));
    const next = rows[Math.max(0, Math.min(rows.length - 1, index + step))];
    next.querySelector("a").click();
    next.scrollIntoView({ block: "nearest" });
  }

  function toggleHelp(show) {
    const help = $("#help");
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-action=help]")) toggleHelp();
    // A phone's back button from a thread: the list as its filters stand now.
    const back = event.target.closest("[data-action=back]");
    if (back && $("#filters")) back.href = `/inbox/?${filters()}`;
  });

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") { toggleHelp(false); if (typing) event.target.blur(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const mode = (value) => { const radio = $(`#reply-form input[name=private][value="${value}"]`); if (radio) { radio.checked = true; updateComposer(); } };
    switch (event.key) {
      case "j": case "ArrowDown": moveSelection(1); break;
      case "k": case "ArrowUp": moveSelection(-1); break;
      case "r": mode("0"); $("#reply-text")?.focus(); break;
      case "n": mode("1"); $("#reply-text")?.focus(); break;
      case "e": ($("[data-shortcut=resolve]") || $("[data-shortcut=reopen]"))?.click(); break;
      case "/": $("#search").focus(); break;
      case "?": toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  // --- relative times (the design system's: static/ui/ui.js) ---------------------------
  const relativeTimes = (root = document) => window.ui?.relativeTimes(root);

  relativeTimes();
  if (openConversationId()) openedThread();
  connect();
})();

/* Template picker: one input per parameter of the chosen template, and its text. */
document.addEventListener("change", (event) => {
  if (event.target.name !== "template" || !event.target.closest("#template-form")) return;
  const option = event.target.selectedOptions[0];
  const form = event.target.closest("#template-form");
  const count = Number(option?.dataset.count || 0);
  form.querySelector(".template-preview").textContent = option?.dataset.body || "";
  const holder = form.querySelector(".template-params");
  holder.replaceChildren(...Array.from({ length: count }, (_, index) => {
    const input = document.createElement("input");
    input.name = "parameters";
    input.required = true;
    input.placeholder = `{{${index + 1}}}`;
    input.setAttribute("aria-label", `{{${index + 1}}}`);
    return input;
  }));
});

/* A select that submits its form when changed (the tenant and language switches), and the
   filters form, which htmx sends: never submitted as a page. No inline handlers: the
   Content-Security-Policy allows no inline script. */
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("submit", (event) => {
  if (event.target.id === "filters") event.preventDefault();
});

// The operator console's live updates: one WebSocket to /console/ws, JSON frames.
// Everything a user or an operator wrote is set with textContent: never HTML.
"use strict";

(() => {
  const section = document.querySelector("[data-page]");
  if (!section) return;
  const page = section.dataset.page;
  const ref = section.dataset.ref || "";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const zone = document.body.dataset.zone || undefined;
  const live = document.getElementById("live");
  const channels = { whatsapp: "WhatsApp", web: "Web chat" };
  let retry = 1000;
  let connectedBefore = false;

  function confidence(value) {
    return typeof value === "number" ? value.toFixed(2) : "–";
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // As the server writes times: 14:05 today, 03 Dec 14:05 before, in the bot's time zone.
  function when(seconds) {
    const moment = new Date(seconds * 1000);
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
    const day = (d) => d.toLocaleDateString("en-GB", { timeZone: zone });
    if (day(moment) === day(new Date())) return moment.toLocaleTimeString("en-GB", options);
    return moment.toLocaleString("en-GB", { day: "2-digit", month: "short", ...options }).replace(",", "");
  }

  // -- the list ---------------------------------------------------------------------------

  const list = document.getElementById("conversations");

  const title = document.title;

  function waitingCount() {
    const waiting = list.querySelectorAll("li.row.waiting").length;
    const shown = document.getElementById("waiting");
    if (shown) shown.textContent = String(waiting);
    // A tab in the background still says someone is waiting for a person.
    document.title = waiting ? `(${waiting}) ${title}` : title;
    document.getElementById("empty").hidden = list.children.length > 0;
  }

  function rowElement(data) {
    const item = element("li", "row");
    item.dataset.ref = data.ref;
    const link = element("a");
    link.href = `/console/c/${encodeURIComponent(data.ref)}`;
    const badge = element("span", "badge", "Waiting for a person since ");
    badge.append(element("span", "since"));
    link.append(
      element("span", "who", data.label),
      element("span", "channel", channels[data.channel] || data.channel),
      element("time"),
      badge,
      element("span", "last"),
      element("span", "intent"),
    );
    item.append(link);
    return item;
  }

  function setPerson(item, withPerson, since) {
    if (withPerson === undefined || withPerson === null) return;
    item.classList.toggle("waiting", withPerson);
    item.dataset.humanSince = withPerson ? String(since || 0) : "0";
    const badge = item.querySelector(".badge");
    badge.hidden = !withPerson;
    badge.querySelector(".since").textContent = withPerson ? when(since) : "";
  }

  function order(a, b) {
    const sinceA = Number(a.dataset.humanSince || 0);
    const sinceB = Number(b.dataset.humanSince || 0);
    if ((sinceA > 0) !== (sinceB > 0)) return sinceA > 0 ? -1 : 1;
    if (sinceA > 0) return sinceA - sinceB;
    return Number(b.dataset.lastAt || 0) - Number(a.dataset.lastAt || 0);
  }

  function sortList() {
    const items = [...list.children].sort(order);
    items.forEach((item) => list.append(item));
    waitingCount();
  }

  function findRow(data) {
    let item = [...list.children].find((li) => li.dataset.ref === data.ref);
    if (!item) {
      item = rowElement(data);
      list.append(item);
    }
    return item;
  }

  function lastLine(frame) {
    if (frame.type === "returned") return frame.by ? `Operator ${frame.by}` : "Back with the bot";
    if (frame.kind === "operator") return `Operator ${frame.by}`;
    return frame.text;
  }

  function onListFrame(frame) {
    if (frame.type === "forgotten") {
      [...list.children].filter((li) => li.dataset.ref === frame.ref).forEach((li) => li.remove());
      waitingCount();
      return;
    }
    const item = findRow(frame);
    if (frame.type === "message" || frame.type === "returned") {
      item.dataset.lastAt = String(frame.time);
      item.querySelector("time").textContent = when(frame.time);
      item.querySelector(".last").textContent = lastLine(frame);
      const intent = frame.kind === "user" ? `${frame.intent ?? "fallback"} · ${confidence(frame.confidence)}` : "";
      item.querySelector(".intent").textContent = intent;
    }
    if (frame.type === "returned") setPerson(item, false, 0);
    else setPerson(item, frame.with_person, frame.human_since);
    sortList();
  }

  function drawList(rows) {
    list.replaceChildren(...rows.map((row) => {
      const item = rowElement(row);
      item.dataset.lastAt = String(row.last_at);
      item.querySelector("time").textContent = when(row.last_at);
      const last = row.by_operator ? (row.last_by ? `Operator ${row.last_by}` : "Back with the bot") : row.last_text;
      item.querySelector(".last").textContent = last;
      setPerson(item, row.with_person, row.human_since);
      return item;
    }));
    sortList();
  }

  async function refreshList() {
    const answer = await fetch("/console/conversations.json", { credentials: "same-origin" });
    if (answer.ok) drawList((await answer.json()).rows);
  }

  // -- a history ----------------------------------------------------------------------------

  const history = document.getElementById("history");

  function bubble(kind, text, meta) {
    const box = element("div", `bubble ${kind}`);
    box.append(element("div", "text", text), element("div", "meta", meta));
    return box;
  }

  function deliveriesBox(about) {
    const box = element("div", "deliveries");
    box.dataset.about = about;
    return box;
  }

  function addEntry(frame) {
    if ([...history.children].some((li) => li.dataset.id === frame.message_id)) return;
    const entry = element("li", "entry");
    entry.dataset.id = frame.message_id;
    const replies = frame.replies || [];
    if (frame.type === "returned") {
      entry.classList.add("returned");
      const says = frame.by ? `Returned to the bot by ${frame.by}` : "Returned to the bot: no person wrote for a while";
      entry.append(element("p", "notice", `${when(frame.time)} · ${says}`));
      replies.forEach((text) => entry.append(bubble("bot", text, "bot")));
    } else if (frame.kind === "operator") {
      entry.classList.add("operator");
      replies.forEach((text) => entry.append(bubble("operator", text, `${when(frame.time)} · operator ${frame.by}`)));
    } else {
      entry.classList.add("user");
      const meta = `${when(frame.time)} · ${channels[frame.channel] || frame.channel} · intent ${frame.intent ?? "fallback"} · confidence ${confidence(frame.confidence)}`;
      entry.append(bubble("user", frame.text, meta));
      replies.forEach((text) => entry.append(bubble("bot", text, "bot")));
    }
    entry.append(deliveriesBox(frame.message_id));
    history.append(entry);
    entry.scrollIntoView({ block: "end" });
  }

  function showPerson(withPerson, since) {
    if (withPerson === undefined || withPerson === null) return;
    const banner = document.getElementById("person");
    banner.classList.toggle("on", withPerson);
    banner.textContent = withPerson
      ? `With a person since ${when(since)}: the bot stays quiet until it is returned.`
      : "The bot answers this conversation.";
    document.getElementById("return").hidden = !withPerson;
  }

  function showDelivery(frame) {
    const text = frame.error_code ? `${frame.status} (error ${frame.error_code})` : frame.status;
    let mark = history.querySelector(`[data-sid="${CSS.escape(frame.sid)}"]`);
    if (!mark) {
      let box = history.querySelector(`.deliveries[data-about="${CSS.escape(frame.about || frame.sid)}"]`);
      if (!box) return;
      mark = element("span");
      mark.dataset.sid = frame.sid;
      box.append(mark);
    }
    mark.className = `delivery ${frame.status}`;
    mark.textContent = text;
  }

  function onHistoryFrame(frame) {
    if (frame.type === "delivery") {
      showDelivery(frame);
      return;
    }
    if (frame.ref !== ref) return;
    if (frame.type === "message" || frame.type === "returned") addEntry(frame);
    if (frame.type === "returned") showPerson(false, 0);
    else if (frame.type !== "forgotten") showPerson(frame.with_person, frame.human_since);
  }

  // -- the socket ---------------------------------------------------------------------------

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/console/ws`);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", csrf, watch: ref }));
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "ready") {
        live.textContent = "live";
        retry = 1000;
        if (connectedBefore && page === "list") refreshList();
        if (connectedBefore && page === "history") live.textContent = "live (reload to see what came while offline)";
        connectedBefore = true;
        return;
      }
      if (frame.type === "list" && page === "list") drawList(frame.rows);
      else if (page === "list") onListFrame(frame);
      else onHistoryFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 1008) {
        live.textContent = "offline: reload the page";
        return;
      }
      live.textContent = "offline, reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    });
  }

  connect();
})();

// The web chat's client: one WebSocket to /ws, JSON frames, reconnecting on its own.
// Everything from the bot is shown with textContent: rule text and upstream data are never HTML.
"use strict";

(() => {
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const typing = document.getElementById("typing");
  const developer = document.getElementById("developer");
  let socket = null;
  let retry = 500;

  developer.checked = localStorage.getItem("bot.developer") === "1";
  const showDeveloper = () => document.body.classList.toggle("developer", developer.checked);
  developer.addEventListener("change", () => {
    localStorage.setItem("bot.developer", developer.checked ? "1" : "0");
    showDeveloper();
  });
  showDeveloper();

  function clock(seconds) {
    const when = seconds ? new Date(seconds * 1000) : new Date();
    return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function link(url) {
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.textContent = url;
    anchor.rel = "noopener noreferrer";
    anchor.target = "_blank";
    return anchor;
  }

  function bubble(kind, text, media, seconds, understood) {
    const item = document.createElement("li");
    item.className = `bubble ${kind}`;
    if (text) item.append(document.createTextNode(text));
    for (const url of media || []) {
      if (!/^https?:\/\//i.test(url)) continue;
      // Shown as a picture; anything that does not load as one becomes a plain link.
      const image = document.createElement("img");
      image.src = url;
      image.alt = "picture from the bot";
      image.addEventListener("error", () => image.replaceWith(link(url)));
      item.append(image);
    }
    const time = document.createElement("time");
    time.textContent = clock(seconds);
    item.append(time);
    if (understood) {
      const note = document.createElement("div");
      note.className = "understood";
      const slots = Object.entries(understood.slots || {}).map(([k, v]) => `${k}=${v}`).join(", ");
      note.textContent = `intent: ${understood.intent ?? "fallback"} · confidence: ${understood.confidence}` +
        (slots ? ` · slots: ${slots}` : "");
      item.append(note);
    }
    log.append(item);
    item.scrollIntoView({ block: "end" });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    status.textContent = "connecting…";
    socket.addEventListener("open", () => {
      retry = 500;
      status.textContent = "online";
      send.disabled = false;
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame.type === "typing") {
        typing.hidden = false;
      } else if (frame.type === "message") {
        typing.hidden = true;
        bubble("bot", frame.text, frame.media, frame.time, frame.understood);
      } else if (frame.type === "error") {
        typing.hidden = true;
        bubble("error", frame.text, [], null, null);
      }
    });
    socket.addEventListener("close", () => {
      send.disabled = true;
      typing.hidden = true;
      status.textContent = "offline, reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "message", text }));
    bubble("you", text, [], null, null);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  send.disabled = true;
  connect();
})();

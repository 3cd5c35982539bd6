// The web chat's client: one WebSocket to /ws, JSON frames, reconnecting on its own.
// Text is shown with text nodes (WhatsApp's *bold* and the rest through format.js, which
// builds elements the same way): rule text, upstream data and what you type are never HTML.
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

  // A picture, in a block of its own under the text; one that does not load becomes a link
  // to it, on a line of its own.
  function picture(url) {
    const block = document.createElement("div");
    block.className = "media";
    const image = document.createElement("img");
    image.src = url;
    image.alt = "picture from the bot";
    image.addEventListener("error", () => {
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = "Picture: ";
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.textContent = url;
      anchor.rel = "noopener noreferrer";
      anchor.target = "_blank";
      block.className = "media link";
      block.replaceChildren(label, anchor);
    }, { once: true });
    block.append(image);
    return block;
  }

  function bubble(kind, text, media, seconds, understood) {
    const item = document.createElement("li");
    item.className = `bubble ${kind}`;
    if (text) {
      const body = document.createElement("div");
      body.className = "text";
      // The server's own error texts are shown exactly; messages as WhatsApp shows them.
      body.append(kind === "error" ? document.createTextNode(text) : WhatsAppFormat.format(text));
      item.append(body);
    }
    for (const url of media || []) {
      if (/^https?:\/\//i.test(url)) item.append(picture(url));
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

  // A socket refused before it opened may carry an id this server no longer accepts (a new
  // SECRET_KEY, an edited cookie): ask for one, which keeps a good id as it is, then retry.
  async function renewId() {
    try {
      await fetch("/chat/id", { method: "POST", credentials: "same-origin" });
    } catch {
      // The server is away; the next try asks again.
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    let opened = false;
    status.textContent = "connecting…";
    socket.addEventListener("open", () => {
      opened = true;
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
      } else if (frame.type === "quiet") {
        typing.hidden = true;
      }
    });
    socket.addEventListener("close", () => {
      send.disabled = true;
      typing.hidden = true;
      status.textContent = "offline, reconnecting…";
      setTimeout(() => (opened ? connect() : renewId().then(connect)), retry);
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

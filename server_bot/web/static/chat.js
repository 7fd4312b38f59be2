// The chat page: sessions (from Discord or the web), the conversation, a live reply, Stop/Regenerate.
"use strict";

const $ = (id) => document.getElementById(id);
const chat = { session: null, streaming: null };

function messageNode(role, text, id) {
  const body = ML.el("div", { class: "body" });
  body.append(ML.markdown(text));
  const node = ML.el("div", { class: `message ${role}` }, ML.el("div", { class: "role" }, role), body);
  if (id != null) node.dataset.id = String(id); // Regenerate names the reply it replaces
  return node;
}

async function loadSessions() {
  const sessions = await ML.json("GET", "/api/sessions");
  const list = $("sessions");
  list.replaceChildren();
  for (const s of sessions) {
    const label = `${s.title} (${s.front_end}, ${s.status})`;
    const item = ML.el("li", { class: s.id === chat.session ? "current" : "" },
      ML.el("button", { type: "button", "data-session": s.id, onclick: () => openSession(s.id) }, label));
    list.append(item);
  }
  const transcripts = await ML.json("GET", "/api/transcripts");
  $("transcripts").replaceChildren(...transcripts.map((t) => ML.el("li", {},
    ML.el("a", { href: `/api/transcripts/${t.session_id}.md`, download: "" }, `${t.title} (md)`), " ",
    ML.el("a", { href: `/api/transcripts/${t.session_id}.json`, download: "" }, "json"))));
}

async function openSession(id) {
  const data = await ML.json("GET", `/api/sessions/${id}`);
  chat.session = id;
  $("chat-title").textContent = `${data.title} (${data.status})`;
  $("messages").replaceChildren(...data.messages.map((m) => messageNode(m.role, m.text, m.id)));
  $("temperature").value = data.settings.temperature;
  $("max-tokens").value = data.settings.max_tokens;
  $("system-prompt").value = data.settings.system_prompt || "";
  await loadSessions();
}

// POST that answers with server-sent events; the reply grows in place as `delta` events arrive.
async function stream(path, body) {
  const node = messageNode("assistant", "");
  $("messages").append(node);
  const target = node.querySelector(".body");
  let text = "";
  let placeholder = ""; // "You are N in the queue", until the reply's text starts
  chat.streaming = path;
  $("stop").disabled = false;
  try {
    const response = await ML.api("POST", path, body);
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(data.error || `${response.status}`);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (!data) continue;
        const event = JSON.parse(data);
        if (event.type === "delta") text += event.text;
        else if (event.type === "replace") text = event.text;
        else if (event.type === "done") {
          text = event.text;
          if (event.reply_id != null) node.dataset.id = String(event.reply_id);
          ML.say("", false);
        }
        else if (event.type === "queued") placeholder = event.text;
        else if (event.type === "notice") ML.say(event.text, false);
        else if (event.type === "error") ML.say(event.text, true);
        if (text || !placeholder) target.replaceChildren(ML.markdown(text));
        else target.replaceChildren(document.createTextNode(placeholder));
      }
    }
  } finally {
    chat.streaming = null;
    $("stop").disabled = true;
  }
}

async function send(event) {
  event.preventDefault();
  const text = $("prompt").value;
  if (!text.trim()) return ML.say("Type a message first.", true);
  if (!chat.session) await newChat();
  $("prompt").value = "";
  $("messages").append(messageNode("user", text));
  await stream(`/api/sessions/${chat.session}/messages`, { text });
}

async function newChat() {
  const response = await ML.api("POST", "/api/sessions", {});
  const data = await response.json().catch(() => ({}));
  if (response.status === 409 && data.session_id) {
    // One open chat per person, wherever it was started: continue that one.
    await openSession(data.session_id);
    return ML.say("You already have an open chat; here it is.", false);
  }
  if (!response.ok) throw new Error(data.error || `${response.status}`);
  await openSession(data.id);
}

function wire(id, action) {
  $(id).addEventListener("click", () => action().catch((e) => ML.say(e.message, true)));
}

async function start() {
  const me = await ML.loadMe();
  if (!me) {
    $("login").hidden = false;
    return;
  }
  $("who").textContent = me.name;
  $("logout").hidden = false;
  $("admin-link").hidden = !me.admin;
  $("tokens-link").hidden = false;
  $("app").hidden = false;
  $("composer").addEventListener("submit", (e) => send(e).catch((err) => ML.say(err.message, true)));
  wire("new-chat", newChat);
  wire("stop", () => ML.json("POST", `/api/sessions/${chat.session}/stop`, {}));
  wire("regenerate", async () => {
    const last = [...$("messages").querySelectorAll(".message.assistant")].pop();
    const replyId = last && last.dataset.id ? Number(last.dataset.id) : null;
    if (last) last.remove();
    try {
      await stream(`/api/sessions/${chat.session}/regenerate`, { reply_id: replyId });
    } finally {
      await openSession(chat.session); // show what is stored, whether it worked or not
    }
  });
  wire("end-chat", async () => {
    await ML.json("POST", `/api/sessions/${chat.session}/end`, {});
    await openSession(chat.session);
  });
  wire("save-settings", async () => {
    await ML.json("PUT", `/api/sessions/${chat.session}/settings`, {
      temperature: Number($("temperature").value),
      max_tokens: Number($("max-tokens").value),
      system_prompt: $("system-prompt").value,
    });
    ML.say("Settings saved.", false);
  });
  wire("forget-me", async () => {
    // The confirmation step: nothing is deleted unless the person types the phrase the server expects.
    const typed = window.prompt(
      'This deletes all your chats, messages and transcripts here, for good. Type "delete my data" to confirm.'
    );
    if (typed === null) return;
    await ML.json("POST", "/api/me/data/forget", { confirm: typed });
    location.assign("/");
  });
  wire("logout", async () => {
    await ML.json("POST", "/api/logout", {});
    location.assign("/");
  });
  await loadSessions();
  const open = (await ML.json("GET", "/api/sessions")).find((s) => s.status === "open");
  if (open) await openSession(open.id);
}

document.addEventListener("DOMContentLoaded", () => start().catch((e) => ML.say(e.message, true)));

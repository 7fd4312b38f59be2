// The admin dashboard (AI Admin only; every route it calls answers 403 to anyone else).
"use strict";

const $ = (id) => document.getElementById(id);

function table(id, headings, rows) {
  const head = ML.el("tr", {}, ...headings.map((h) => ML.el("th", {}, h)));
  $(id).replaceChildren(head, ...rows.map((r) => ML.el("tr", {}, ...r.map((c) => ML.el("td", {}, String(c))))));
}

async function loadOverview() {
  const data = await ML.json("GET", "/api/admin/overview");
  table("hosts", ["host", "online", "load", "tokens/s"],
    data.hosts.map((h) => [h.name, h.online ? "yes" : "no", h.load, h.tokens_per_s ?? "-"]));
  table("open-sessions", ["open sessions"], [[data.open_sessions]]);
  $("toggles").replaceChildren(...Object.entries(data.toggles).map(([name, on]) => ML.el("li", {},
    `${name}: ${on ? "on" : "off"} `,
    ML.el("button", { type: "button", onclick: () => act("PUT", `/api/admin/toggles/${name}`, { enabled: !on }) },
      on ? "Turn off" : "Turn on"))));
  $("metrics").src = `/api/admin/metrics.png?t=${Date.now()}`;
}

async function act(method, path, body) {
  try {
    await ML.json(method, path, body);
    await loadOverview();
  } catch (e) {
    ML.say(e.message, true);
  }
}

async function loadAudit(event) {
  if (event) event.preventDefault();
  const query = new URLSearchParams();
  const add = (key, value) => value && query.set(key, value);
  add("event", $("f-event").value);
  add("user_id", $("f-user").value);
  add("success", $("f-success").value);
  add("since", $("f-since").value && new Date($("f-since").value).toISOString());
  add("until", $("f-until").value && new Date($("f-until").value).toISOString());
  const rows = await ML.json("GET", `/api/admin/audit?${query}`);
  table("audit", ["time", "event", "command", "user", "success", "detail"],
    rows.map((r) => [r.created_at, r.event, r.command ?? "", r.user_id ?? "", r.success ? "yes" : "no", r.detail ?? ""]));
}

async function start() {
  const me = await ML.loadMe();
  if (!me) return ML.say("Sign in first.", true);
  $("who").textContent = me.name;
  if (!me.admin) return ML.say("Only AI Admins may open this page.", true);
  $("admin").hidden = false;
  $("ban-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act("POST", "/api/admin/bans", { user_id: $("ban-user").value });
  });
  $("unban").addEventListener("click", () => act("DELETE", `/api/admin/bans/${$("ban-user").value}`));
  $("audit-filter").addEventListener("submit", (e) => loadAudit(e).catch((err) => ML.say(err.message, true)));
  await loadOverview();
  await loadAudit();
}

document.addEventListener("DOMContentLoaded", () => start().catch((e) => ML.say(e.message, true)));

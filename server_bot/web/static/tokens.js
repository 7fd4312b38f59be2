// The access-tokens page: the signed-in person's MCP tokens (list, create — the secret is shown once,
// never stored on the page — and revoke after a confirmation). Text nodes only, as on every page.
"use strict";

const $ = (id) => document.getElementById(id);

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

async function loadTokens() {
  const tokens = await ML.json("GET", "/api/tokens");
  const head = ML.el("tr", {}, ...["name", "scopes", "created", "last used", "revoked", ""].map(
    (h) => ML.el("th", {}, h)));
  const rows = tokens.map((t) => {
    const action = t.revoked_at ? "" : ML.el("button", {
      type: "button", class: "revoke", onclick: () => revoke(t).catch((e) => ML.say(e.message, true)),
    }, "Revoke");
    return ML.el("tr", { "data-token": String(t.id), class: t.revoked_at ? "revoked" : "" },
      ML.el("td", {}, t.name), ML.el("td", {}, t.scopes.join(", ")), ML.el("td", {}, when(t.created_at)),
      ML.el("td", {}, when(t.last_used_at) || "never"), ML.el("td", {}, t.revoked_at ? `revoked ${when(t.revoked_at)}` : "no"),
      ML.el("td", {}, action));
  });
  const empty = tokens.length ? [] : [ML.el("tr", {}, ML.el("td", { colspan: "6" }, "No tokens yet."))];
  $("tokens").replaceChildren(head, ...rows, ...empty);
}

async function create(event) {
  event.preventDefault();
  const scopes = [...document.querySelectorAll("input[name=scope]:checked")].map((box) => box.value);
  if (!scopes.length) return ML.say("Pick at least one scope.", true);
  const made = await ML.json("POST", "/api/tokens", { name: $("token-name").value.trim() || "mcp", scopes });
  $("new-token-value").value = made.token;
  $("new-token").hidden = false;
  ML.say(`Token "${made.name}" created. Copy it now: it is shown only once.`, false);
  await loadTokens();
}

async function revoke(token) {
  if (!window.confirm(`Revoke the token "${token.name}"? Anything using it stops working.`)) return;
  await ML.json("DELETE", `/api/tokens/${token.id}`);
  $("new-token").hidden = true; // whatever was shown may be the one just revoked
  $("new-token-value").value = "";
  ML.say(`Token "${token.name}" revoked.`, false);
  await loadTokens();
}

async function copy() {
  const field = $("new-token-value");
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    ML.say("Copied to the clipboard.", false);
  } catch (_) {
    ML.say("Selected: press Ctrl+C (Cmd+C) to copy.", false); // no clipboard permission
  }
}

async function start() {
  const me = await ML.loadMe();
  if (!me) return ML.say("Sign in first.", true);
  $("who").textContent = me.name;
  const probe = await ML.api("GET", "/api/tokens");
  if (probe.status === 404) return ML.say("Access tokens are not enabled on this server (MCP is off).", true);
  $("tokens-panel").hidden = false;
  $("token-form").addEventListener("submit", (e) => create(e).catch((err) => ML.say(err.message, true)));
  $("copy-token").addEventListener("click", () => copy());
  await loadTokens();
}

document.addEventListener("DOMContentLoaded", () => start().catch((e) => ML.say(e.message, true)));

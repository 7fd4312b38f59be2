// devcord's web client: act as one person of the scenario through the driver API (/_devcord/).
// Message content is only ever set as text nodes (never innerHTML): bots and people write it.
// markdown.js (renderMarkdown) and commands.js (slashCommands) load first.
"use strict";

const DM = 1;
const TEXT_TYPES = new Set([0, DM, 5]); // guild text, DM, announcement
const LOADING = 1 << 7; // a deferred interaction response: "<bot> is thinking…"
const RECONNECT_MS = 1000;

const $ = (id) => document.getElementById(id);
const view = {
  user: "", // id of the person acted as
  channel: "", // id of the open channel
  guilds: new Map(), // guild id -> name
  users: new Map(), // user id -> display name, for mentions
  roles: new Map(), // role id -> name, for mentions
  channelNames: new Map(), // channel id -> name, for mentions
  commands: [], // registered application commands (every application, global and guild)
  commandsAt: 0, // when `commands` was fetched (ms)
  dismissed: new Set(), // ephemeral message ids the user closed
  unseen: 0, // messages that arrived while scrolled up
  following: true, // the timeline was at its bottom when last scrolled: keep it there
  channels: [],
  messages: new Map(), // message id -> payload, for the open channel
  interactions: new Map(), // interaction id -> what the user saw (the driver's interaction view)
  seq: 0, // last event seq applied
  socket: null,
  pending: null, // events that arrived while the open channel's history was loading
};

// -- the driver API ---------------------------------------------------------------------------------

async function driver(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch("/_devcord" + path, init);
  const data = await response.json();
  if (!response.ok) {
    const text = data.errors ? slashCommands.readableApiError(data) : data.message;
    throw new Error(text || `${method} ${path} answered ${response.status}`);
  }
  return data;
}

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// -- DOM helpers ------------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child); // strings become text nodes
  }
  return node;
}

const displayName = (user) => user.global_name || user.username;

function channelLabel(channel) {
  if (channel.type !== DM) return "# " + channel.name;
  const others = (channel.recipients || []).filter((u) => u.id !== view.user);
  return "@ " + (others.map(displayName).join(", ") || "direct message");
}

// -- users and channels -----------------------------------------------------------------------------

async function loadUsers() {
  const state = await loadState();
  for (const user of state.users.filter((u) => !u.bot)) {
    $("user").append(el("option", { value: user.id }, displayName(user)));
  }
}

// Names for mentions and the registered commands both come from the driver's state.
async function loadState() {
  const state = await driver("GET", "/state");
  for (const user of state.users) view.users.set(user.id, displayName(user));
  view.commands = [];
  for (const guild of state.guilds) {
    view.guilds.set(guild.id, guild.name);
    for (const role of guild.roles) view.roles.set(role.id, role.name);
    for (const channel of guild.channels) view.channelNames.set(channel.id, channel.name);
  }
  for (const app of state.applications) {
    view.commands.push(...app.global_commands, ...Object.values(app.guild_commands).flat());
  }
  view.commandsAt = Date.now();
  return state;
}

const names = {
  user: (id) => view.users.get(id),
  role: (id) => view.roles.get(id),
  channel: (id) => view.channelNames.get(id),
  openChannel: (id) => {
    if (!view.channels.some((c) => c.id === id)) return say("You cannot see that channel.", true);
    openChannel(id).catch((e) => say(e.message, true));
  },
};

async function pickUser(userId) {
  closeSocket();
  Object.assign(view, { user: userId, channel: "", channels: [], seq: 0 });
  view.interactions.clear();
  showChannel(null);
  if (!userId) return renderChannels();
  // Everything up to now is in the stored state; the live feed only has to bring what comes after.
  // (The poll answers with the user's whole buffered feed just to learn its last seq: fine locally.)
  view.seq = (await driver("GET", `/events?user=${userId}&after=0&timeout=0`)).last_seq;
  openSocket();
  await loadChannels();
}

async function loadChannels() {
  const user = view.user;
  const visible = await driver("GET", `/users/${user}/channels`);
  if (view.user !== user) return; // another user was picked meanwhile
  view.channels = visible.filter((c) => TEXT_TYPES.has(c.type)).sort(byPlace);
  for (const channel of view.channels) if (channel.name) view.channelNames.set(channel.id, channel.name);
  if (view.channel && !view.channels.some((c) => c.id === view.channel)) {
    // A chat that ends deletes its channel: say so instead of silently emptying the view.
    const name = view.channelNames.get(view.channel);
    showChannel(null);
    say(`#${name || "the channel"} was closed, or you can no longer see it.`);
  }
  renderChannels();
}

// Guild channels grouped by guild in position order, then direct messages.
function byPlace(a, b) {
  return (
    (a.type === DM) - (b.type === DM) ||
    (a.guild_id || "").localeCompare(b.guild_id || "") ||
    (a.position ?? 0) - (b.position ?? 0) ||
    a.id.localeCompare(b.id)
  );
}

function renderChannels() {
  const list = $("channels");
  list.replaceChildren();
  let guildId;
  for (const channel of view.channels) {
    if (channel.guild_id !== guildId) {
      guildId = channel.guild_id;
      list.append(el("li", { className: "guild" }, view.guilds.get(guildId) || "Direct messages"));
    }
    const button = el("button", { type: "button", className: "channel" }, channelLabel(channel));
    if (channel.id === view.channel) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => openChannel(channel.id).catch((e) => say(e.message, true)));
    list.append(el("li", {}, button));
  }
}

function showChannel(channel) {
  view.channel = channel ? channel.id : "";
  view.messages.clear();
  $("messages").replaceChildren();
  markSeen();
  $("channel-title").textContent = channel ? channelLabel(channel) : "Pick a user, then a channel";
  $("composer").hidden = !channel;
  renderEphemeral();
}

async function openChannel(channelId) {
  showChannel(view.channels.find((c) => c.id === channelId));
  renderChannels();
  view.pending = [];
  const [stored, interactions] = await Promise.all([
    driver("GET", `/channels/${channelId}/messages`),
    driver("GET", `/users/${view.user}/interactions`),
  ]);
  if (view.channel !== channelId) return; // another channel was picked meanwhile
  for (const message of stored) upsertMessage(message);
  for (const interaction of interactions) view.interactions.set(interaction.id, interaction);
  const pending = view.pending;
  view.pending = null;
  pending.forEach(apply);
  renderEphemeral();
  jumpToNewest();
  $("composer-input").focus();
}

// -- messages ---------------------------------------------------------------------------------------

function upsertMessage(message) {
  const merged = { ...view.messages.get(message.id), ...message };
  view.messages.set(message.id, merged);
  const node = messageNode(merged, false);
  const list = $("messages");
  const following = view.following;
  const old = $("msg-" + message.id);
  if (old) {
    // A streamed reply grows by edits: keep following it.
    old.replaceWith(node);
    if (following) list.scrollTop = list.scrollHeight;
    return;
  }
  list.append(node);
  if (following) list.scrollTop = list.scrollHeight;
  else if (!view.pending) showUnseen(view.unseen + 1);
}

// -- scrolling: follow the conversation while at the bottom, count what arrives while scrolled up ---

const atBottom = (list) => list.scrollHeight - list.scrollTop - list.clientHeight < 40;

function showUnseen(count) {
  view.unseen = count;
  $("new-messages").hidden = count === 0;
  $("new-messages").textContent = count === 1 ? "1 new message ↓" : `${count} new messages ↓`;
}

function markSeen() {
  view.following = true;
  showUnseen(0);
}

function scrolled() {
  view.following = atBottom($("messages"));
  if (view.following) showUnseen(0);
}

function jumpToNewest() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
  markSeen();
}

function removeMessage(messageId) {
  view.messages.delete(messageId);
  $("msg-" + messageId)?.remove();
}

function messageNode(message, ephemeral) {
  const author = message.author;
  const header = el("div", { className: "meta" }, el("strong", { className: "author" }, displayName(author)));
  if (author.bot) header.append(el("span", { className: "tag" }, "BOT"));
  header.append(el("time", { dateTime: message.timestamp }, new Date(message.timestamp).toLocaleTimeString()));
  if (message.edited_timestamp) header.append(el("span", { className: "edited" }, "(edited)"));
  const content = el("div", { className: "content" });
  if (!message.content && message.flags & LOADING) {
    content.append(el("em", {}, `${displayName(author)} is thinking…`));
  } else {
    content.append(renderMarkdown(message.content || "", names));
  }
  const node = el("li", { className: "message" }, header, content);
  if (!ephemeral) node.id = "msg-" + message.id;
  for (const embed of message.embeds || []) {
    node.append(el("div", { className: "embed" }, el("strong", {}, embed.title), el("p", {}, embed.description)));
  }
  for (const file of message.attachments || []) node.append(attachmentNode(file));
  for (const row of message.components || []) node.append(componentRow(message, row, ephemeral));
  return node;
}

// Images are shown inline (e.g. the metrics chart); any other file is a download link.
function attachmentNode(file) {
  const safe = /^https?:\/\//.test(file.url);
  const link = el("a", { className: "attachment", rel: "noreferrer" });
  if (safe) link.href = file.url;
  if (safe && isImage(file)) {
    link.target = "_blank";
    link.append(el("img", { src: file.url, alt: file.description || file.filename, loading: "lazy" }));
    return link;
  }
  link.download = file.filename;
  const size = file.size === undefined ? "" : ` (${formatSize(file.size)})`;
  link.append(`📎 ${file.filename}${size}`);
  return link;
}

// Discord sets content_type from the file; an upload sent as generic bytes falls back to the name.
function isImage(file) {
  const type = file.content_type || "application/octet-stream";
  if (type.startsWith("image/")) return true;
  return type === "application/octet-stream" && /\.(png|jpe?g|gif|webp)$/i.test(file.filename);
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function componentRow(message, row, ephemeral) {
  const out = el("div", { className: "components", role: "group" });
  for (const item of row.components || []) {
    if (item.type === 2 && item.url) {
      out.append(el("a", { className: "button", href: item.url, rel: "noreferrer" }, item.label || "link"));
    } else if (item.type === 2) {
      const button = el("button", { type: "button", className: `button style-${item.style}` }, item.label || "button");
      // devcord keeps ephemeral messages on the interaction only; the driver cannot click on them.
      button.disabled = Boolean(item.disabled) || ephemeral;
      button.addEventListener("click", () => press(message, item.custom_id));
      out.append(button);
    } else if (item.type === 3) {
      const select = el("select", { disabled: Boolean(item.disabled) || ephemeral });
      select.setAttribute("aria-label", item.placeholder || "choose");
      select.append(el("option", { value: "" }, item.placeholder || "choose…"));
      for (const option of item.options || []) select.append(el("option", { value: option.value }, option.label));
      select.addEventListener("change", () => press(message, item.custom_id, [select.value]));
      out.append(select);
    }
  }
  return out;
}

async function press(message, customId, values) {
  try {
    const body = { user: view.user, channel: view.channel, message_id: message.id, custom_id: customId, values };
    rememberInvoked(await driver("POST", "/interactions/component", body));
  } catch (error) {
    say(error.message, true);
  }
}

// -- the live feed ----------------------------------------------------------------------------------

function openSocket() {
  const user = view.user;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/_devcord/events/ws?user=${user}&after=${view.seq}`);
  view.socket = socket;
  socket.addEventListener("message", (frame) => receive(JSON.parse(frame.data)));
  socket.addEventListener("close", () => {
    if (view.socket !== socket) return; // closed on purpose (another user was picked)
    say("live feed lost; reconnecting…", true);
    setTimeout(() => view.user === user && view.socket === socket && openSocket(), RECONNECT_MS);
  });
  socket.addEventListener("open", () => say(""));
}

function closeSocket() {
  const socket = view.socket;
  view.socket = null;
  if (socket) socket.close();
}

function receive(event) {
  if (event.seq <= view.seq) return;
  view.seq = event.seq;
  if (view.pending && event.d && event.d.channel_id === view.channel) view.pending.push(event);
  else apply(event);
}

function apply(event) {
  const data = event.d;
  switch (event.t) {
    case "MESSAGE_CREATE":
    case "MESSAGE_UPDATE":
      if (data.channel_id === view.channel) upsertMessage(data);
      break;
    case "MESSAGE_DELETE":
      if (data.channel_id === view.channel) removeMessage(data.id);
      break;
    case "CHANNEL_CREATE":
    case "CHANNEL_UPDATE":
    case "CHANNEL_DELETE":
      loadChannels().catch((e) => say(e.message, true));
      break;
    case "INTERACTION_UPDATE":
      rememberInteraction(data);
      break;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("user").addEventListener("change", (e) => pickUser(e.target.value).catch((err) => say(err.message, true)));
  $("composer").addEventListener("submit", send);
  $("composer-input").addEventListener("input", () => typed().catch((e) => say(e.message, true)));
  $("composer-input").addEventListener("keydown", suggestionKeys);
  $("messages").addEventListener("scroll", scrolled);
  // The timeline shrinks when the "Only you" panel or the suggestions open: stay on the newest item.
  new ResizeObserver(() => view.following && jumpToNewest()).observe($("messages"));
  $("new-messages").addEventListener("click", jumpToNewest);
  $("ephemeral-dismiss").addEventListener("click", dismissEphemeral);
  loadUsers().catch((e) => say(e.message, true));
});

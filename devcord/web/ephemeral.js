// "Only you can see this": the ephemeral replies to this user's interactions in the open channel, in a
// panel that can be dismissed. Shares app.js's globals (view, el, $, messageNode); loaded after it.
"use strict";

// -- interactions: what only this user sees ---------------------------------------------------------

function rememberInteraction(interaction) {
  view.interactions.set(interaction.id, interaction);
  renderEphemeral();
}

// The driver's answer to an invocation can arrive after the feed already brought a newer view of it.
function rememberInvoked(interaction) {
  if (!view.interactions.has(interaction.id)) rememberInteraction(interaction);
}

function renderEphemeral() {
  const list = $("ephemeral-messages");
  list.replaceChildren();
  const ours = [...view.interactions.values()].filter((i) => i.channel_id === view.channel);
  for (const interaction of ours) {
    for (const message of [interaction.original, ...interaction.followups]) {
      if (message && message.ephemeral && !message.deleted && !view.dismissed.has(ephemeralKey(message))) {
        list.append(messageNode(message, true));
      }
    }
  }
  $("ephemeral").hidden = list.childElementCount === 0;
  // The panel scrolls on its own; the newest reply is the one to see.
  list.lastElementChild?.scrollIntoView({ block: "nearest" });
}

// An edit of a dismissed reply (e.g. "thinking…" becoming the answer) is new content: show it again.
const ephemeralKey = (message) => `${message.id}@${message.edited_timestamp || message.timestamp}`;

function dismissEphemeral() {
  const ours = [...view.interactions.values()].filter((i) => i.channel_id === view.channel);
  for (const interaction of ours) {
    for (const message of [interaction.original, ...interaction.followups]) {
      if (message) view.dismissed.add(ephemeralKey(message));
    }
  }
  renderEphemeral();
  $("composer-input").focus();
}

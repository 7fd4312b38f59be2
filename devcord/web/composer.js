// The composer: posting messages, and slash commands with suggestions and Discord's option checks
// (commands.js). Shares app.js's globals (view, driver, say, el, $); loaded after it.
"use strict";

// -- sending ----------------------------------------------------------------------------------------

async function send(event) {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text) return;
  try {
    if (text.startsWith("/")) {
      await freshCommands();
      const checked = slashCommands.check(view.commands, text);
      if (checked.error) return say(checked.error, true);
      const body = { user: view.user, channel: view.channel, command: checked.command, options: checked.options };
      rememberInvoked(await driver("POST", "/interactions/command", body));
      renderSuggestions([]);
      say(`ran /${checked.command}`);
    } else {
      upsertMessage(await driver("POST", `/channels/${view.channel}/messages`, { user: view.user, content: text }));
      say("");
    }
    input.value = "";
  } catch (error) {
    say(error.message, true);
  }
}

// -- slash command suggestions ----------------------------------------------------------------------

// Bots (re)register commands when they start; a few seconds old is fresh enough while typing.
async function freshCommands() {
  if (Date.now() - view.commandsAt > 3000) await loadState();
}

async function typed() {
  const input = $("composer-input");
  if (!input.value.startsWith("/")) return renderSuggestions([]);
  await freshCommands();
  renderSuggestions(slashCommands.suggest(view.commands, input.value));
}

function renderSuggestions(items) {
  const list = $("suggestions");
  list.replaceChildren();
  items.slice(0, 12).forEach((item, index) => {
    const option = el("li", { role: "option" }, el("strong", {}, item.label), " ", el("span", { className: "detail" }, item.detail || ""));
    option.setAttribute("aria-selected", String(index === 0));
    option.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus in the composer
      $("composer-input").value = item.text;
      typed().catch((e) => say(e.message, true));
    });
    list.append(option);
  });
  list.hidden = list.childElementCount === 0;
}

// As in Discord: Tab takes the highlighted suggestion, the arrow keys move the highlight.
function suggestionKeys(event) {
  const list = $("suggestions");
  const options = [...list.querySelectorAll("li")];
  if (list.hidden || !options.length) return;
  const current = Math.max(0, options.findIndex((o) => o.getAttribute("aria-selected") === "true"));
  if (event.key === "Tab") {
    event.preventDefault();
    options[current].dispatchEvent(new MouseEvent("mousedown"));
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const next = (current + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
    options.forEach((o, i) => o.setAttribute("aria-selected", String(i === next)));
    options[next].scrollIntoView({ block: "nearest" });
  } else if (event.key === "Escape") {
    renderSuggestions([]);
  }
}

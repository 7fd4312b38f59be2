// Slash commands in the composer: suggestions as you type and the option errors Discord's own client
// shows before sending, both from the schema the bots registered (devcord's stored commands).
"use strict";

const SUB_COMMAND = 1;
const SUB_COMMAND_GROUP = 2;
const OPTION_TYPES = {
  3: "text", 4: "whole number", 5: "true or false", 6: "user", 7: "channel", 8: "role",
  9: "user or role", 10: "number", 11: "file",
};

// "/chat settings temperature:0.5 title:\"two words\"" -> {path: ["chat", "settings"], options: {...}}
function parseCommand(text) {
  const tokens = text.replace(/^\//, "").match(/[\w-]+:"[^"]*"?|"[^"]*"?|\S+/g) || [];
  const path = [];
  const options = {};
  for (const token of tokens) {
    const option = token.match(/^([\w-]+):(.*)$/s);
    if (!option) {
      path.push(token);
      continue;
    }
    options[option[1]] = option[2].replace(/^"(.*?)"?$/s, "$1");
  }
  return { path, options, tokens };
}

const isGroup = (o) => o.type === SUB_COMMAND || o.type === SUB_COMMAND_GROUP;
const children = (node) => (node.options || []).filter(isGroup);
const params = (node) => (node.options || []).filter((o) => !isGroup(o));

// Walks the command path: {node, names, error}. node is the deepest command reached.
function walk(commands, path) {
  let choices = commands.filter((c) => (c.type ?? 1) === 1);
  let node = null;
  const names = [];
  for (const word of path) {
    const next = choices.find((c) => c.name === word.toLowerCase());
    if (!next) {
      const where = names.length ? `/${names.join(" ")}` : "";
      const known = choices.map((c) => c.name);
      const close = known.filter((n) => n.startsWith(word.slice(0, 2).toLowerCase()));
      const hint = close.length ? ` Did you mean ${close.map((n) => `“${n}”`).join(" or ")}?` : "";
      const what = where ? `${where} has no subcommand “${word}”.` : `There is no command “/${word}”.`;
      return { node, names, error: `${what}${hint} Available: ${known.join(", ") || "none"}.` };
    }
    node = next;
    names.push(next.name);
    choices = children(next);
    if (!choices.length) break;
  }
  return { node, names, error: null };
}

// What to offer for the text typed so far: [{label, detail, text}] where text replaces the input.
function suggest(commands, input) {
  if (!input.startsWith("/")) return [];
  const endsWithSpace = /\s$/.test(input);
  const { path, options, tokens } = parseCommand(input);
  const partial = endsWithSpace ? "" : tokens[tokens.length - 1] || "";
  const before = endsWithSpace ? input : input.slice(0, input.length - partial.length);
  const optionPartial = /^[\w-]+:/.test(partial);
  const walked = walk(commands, endsWithSpace || optionPartial ? path : path.slice(0, -1));
  if (walked.error) return [];
  const node = walked.node;
  const level = node ? children(node) : commands.filter((c) => (c.type ?? 1) === 1);
  if (level.length) {
    return level
      .filter((c) => c.name.startsWith(partial.toLowerCase()))
      .map((c) => ({ label: `/${[...walked.names, c.name].join(" ")}`, detail: c.description, text: `${before}${c.name} ` }));
  }
  if (!node) return [];
  if (optionPartial) {
    const [name, value] = partial.split(/:(.*)/s);
    const option = params(node).find((o) => o.name === name);
    return (option?.choices || [])
      .filter((c) => String(c.value).startsWith(value.replace(/^"/, "")))
      .map((c) => ({ label: `${name}: ${c.name}`, detail: String(c.value), text: `${before}${name}:${quote(c.value)} ` }));
  }
  return params(node)
    .filter((o) => !(o.name in options) && o.name.startsWith(partial))
    .map((o) => ({
      label: `${o.name}:`,
      detail: `${o.required ? "required" : "optional"} ${OPTION_TYPES[o.type] || "value"} — ${o.description}`,
      text: `${before}${o.name}:`,
    }));
}

const quote = (value) => (/\s/.test(String(value)) ? `"${value}"` : String(value));

// The error Discord's client would show for this command line, or null when it can be sent as
// {command, options} with values typed as the schema says.
function check(commands, input) {
  const { path, options } = parseCommand(input);
  if (!path.length) return { error: "Type a command name after “/”." };
  const walked = walk(commands, path);
  if (walked.error) return { error: walked.error };
  const node = walked.node;
  const command = "/" + walked.names.join(" ");
  if (children(node).length) {
    return { error: `${command} needs a subcommand: ${children(node).map((c) => c.name).join(", ")}.` };
  }
  if (path.length > walked.names.length) {
    return { error: `${command} takes options as name:value; “${path.slice(walked.names.length).join(" ")}” is not one.` };
  }
  const known = params(node);
  const typed = {};
  for (const [name, raw] of Object.entries(options)) {
    const option = known.find((o) => o.name === name);
    if (!option) {
      const list = known.map((o) => o.name).join(", ") || "none";
      return { error: `${command} has no option “${name}”. Its options: ${list}.` };
    }
    const value = typedValue(option, raw);
    if (value.error) return { error: `${name}: ${value.error}` };
    typed[name] = value.value;
  }
  const missing = known.filter((o) => o.required && !(o.name in options));
  if (missing.length) {
    const list = missing.map((o) => `${o.name} (${o.description})`).join(", ");
    return { error: `${command} needs ${list}.` };
  }
  return { error: null, command: walked.names.join(" "), options: typed };
}

function typedValue(option, raw) {
  let value = raw;
  if (option.type === 4) {
    if (!/^-?\d+$/.test(raw)) return { error: `“${raw}” is not a whole number.` };
    value = Number(raw);
  } else if (option.type === 10) {
    value = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(value)) return { error: `“${raw}” is not a number.` };
  } else if (option.type === 5) {
    if (raw !== "true" && raw !== "false") return { error: "must be true or false." };
    value = raw === "true";
  } else if (option.type === 3) {
    if (option.min_length !== undefined && raw.length < option.min_length) {
      return { error: `must be at least ${option.min_length} characters.` };
    }
    if (option.max_length !== undefined && raw.length > option.max_length) {
      return { error: `must be at most ${option.max_length} characters.` };
    }
  }
  if (typeof value === "number") {
    if (option.min_value !== undefined && value < option.min_value) {
      return { error: `must be ${option.min_value} or more.` };
    }
    if (option.max_value !== undefined && value > option.max_value) {
      return { error: `must be ${option.max_value} or less.` };
    }
  }
  if (option.choices && !option.choices.some((c) => String(c.value) === String(value))) {
    return { error: `choose one of ${option.choices.map((c) => c.value).join(", ")}.` };
  }
  return { value };
}

// Discord's 400 shape {code: 50035, message: "Invalid Form Body", errors: {a: {b: {_errors: [...]}}}}
// as one readable line: "options.temperature: Value must be 2 or less".
function readableApiError(data) {
  const lines = [];
  const visit = (node, path) => {
    if (!node || typeof node !== "object") return;
    for (const error of node._errors || []) lines.push(`${path.join(".") || "request"}: ${error.message}`);
    for (const [key, child] of Object.entries(node)) if (key !== "_errors") visit(child, [...path, key]);
  };
  visit(data.errors, []);
  return lines.length ? lines.join("; ") : data.message;
}

window.slashCommands = { parseCommand, suggest, check, readableApiError };

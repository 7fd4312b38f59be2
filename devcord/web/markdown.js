// Discord's markdown subset, rendered as DOM nodes. Every piece of user or model text ends up in a text
// node (node.append(string) / textContent); nothing here ever parses HTML, so `<script>` or
// `<img onerror>` in a message shows as those characters.
"use strict";

// Inline tokens, earliest match wins; order breaks ties (`**` before `*`, `__` before `_`).
const INLINE = [
  { kind: "code", re: /``([^`]+?)``|`([^`\n]+?)`/ },
  { kind: "mention", re: /<(@!?|@&|#)(\d{1,20})>/ },
  { kind: "link", re: /\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/ },
  { kind: "url", re: /https?:\/\/[^\s<>]+[^\s<>.,:;"')\]]/ },
  { kind: "bold", re: /\*\*([^\n]+?)\*\*/ },
  { kind: "underline", re: /__([^\n]+?)__/ },
  { kind: "strike", re: /~~([^\n]+?)~~/ },
  { kind: "italic", re: /\*(?!\s)([^*\n]+?)\*|\b_([^_\n]+?)_\b/ },
];

const STYLE_TAGS = { bold: "strong", italic: "em", underline: "u", strike: "s" };

// Only http(s) links become links: `javascript:`, `data:` and the like stay text.
function safeHref(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// names: {user(id) -> string|undefined, role(id), channel(id), openChannel(id)}
function renderInline(text, names, depth = 0) {
  const out = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    let best = null;
    for (const token of INLINE) {
      const match = token.re.exec(rest);
      if (match && (best === null || match.index < best.match.index)) best = { kind: token.kind, match };
    }
    if (best === null) {
      out.append(rest);
      break;
    }
    const { kind, match } = best;
    if (match.index > 0) out.append(rest.slice(0, match.index));
    out.append(inlineNode(kind, match, names, depth));
    rest = rest.slice(match.index + match[0].length);
  }
  return out;
}

function inlineNode(kind, match, names, depth) {
  const inner = match[1] ?? match[2] ?? "";
  if (kind === "code") return Object.assign(document.createElement("code"), { textContent: inner });
  if (kind === "mention") return mentionNode(match[1], match[2], names);
  if (kind === "link" || kind === "url") {
    const href = safeHref(kind === "link" ? match[2] : match[0]);
    if (href === null) return document.createTextNode(match[0]);
    const link = Object.assign(document.createElement("a"), { href, rel: "noreferrer noopener", target: "_blank" });
    link.textContent = kind === "link" ? match[1] : match[0];
    return link;
  }
  const node = document.createElement(STYLE_TAGS[kind]);
  // Styles nest (***bold italic***); a depth cap keeps a pathological message cheap.
  node.append(depth < 4 ? renderInline(inner, names, depth + 1) : inner);
  return node;
}

function mentionNode(sigil, id, names) {
  const span = document.createElement("span");
  span.className = "mention";
  if (sigil === "#") {
    const name = names.channel(id);
    const button = Object.assign(document.createElement("button"), { type: "button", className: "mention" });
    button.textContent = "#" + (name ?? "unknown-channel");
    if (name === undefined) button.disabled = true;
    else button.addEventListener("click", () => names.openChannel(id));
    return button;
  }
  if (sigil === "@&") span.textContent = "@" + (names.role(id) ?? "unknown-role");
  else span.textContent = "@" + (names.user(id) ?? "unknown-user");
  return span;
}

// Blocks: ``` fenced code ```, `> ` quote lines (and `>>> ` quoting the rest), and ordinary lines.
function renderMarkdown(text, names) {
  const out = document.createDocumentFragment();
  const parts = text.split(/```/);
  parts.forEach((part, index) => {
    const fenced = index % 2 === 1 && index < parts.length - 1;
    if (fenced) {
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      // A first line that is a bare word is the language ("```py"), not code.
      const lang = part.match(/^([\w+-]+)\n/);
      code.textContent = (lang ? part.slice(lang[0].length) : part.replace(/^\n/, "")).replace(/\n$/, "");
      if (lang) code.dataset.lang = lang[1];
      pre.append(code);
      out.append(pre);
    } else {
      // A fenced block is a block: the line breaks around it are not lines of their own.
      let lines = index > 0 && index % 2 === 0 ? part.replace(/^\n/, "") : part;
      if (index + 2 < parts.length && index % 2 === 0) lines = lines.replace(/\n$/, "");
      // An unclosed fence is shown as typed.
      renderLines(index % 2 === 1 ? "```" + lines : lines, names, out);
    }
  });
  return out;
}

function renderLines(text, names, out) {
  const lines = text.split("\n");
  let quote = null;
  let rest = false; // inside a ">>> " quote: every line to the end is quoted
  lines.forEach((line, i) => {
    const multi = line.match(/^>>> ?(.*)$/);
    const single = line.match(/^> (.*)$/) || (line === ">" ? [line, ""] : null);
    if (multi) rest = true;
    const quoted = rest || single;
    const body = multi ? multi[1] : rest ? line : single ? single[1] : line;
    if (quoted) {
      if (quote === null) {
        quote = document.createElement("blockquote");
        out.append(quote);
      } else {
        quote.append("\n");
      }
      quote.append(renderInline(body, names));
      return;
    }
    quote = null;
    out.append(renderInline(body, names));
    if (i < lines.length - 1) out.append("\n");
  });
}

window.renderMarkdown = renderMarkdown;

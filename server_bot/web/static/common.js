// Shared by the chat and admin pages. Nothing from the model or a user is ever parsed as HTML:
// every piece of text becomes a text node (no innerHTML anywhere), links only for http(s) URLs.
"use strict";

const ML = {
  me: null,

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  },

  async api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && ML.me) headers["X-CSRF-Token"] = ML.me.csrf;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    return response;
  },

  async json(method, path, body) {
    const response = await ML.api(method, path, body);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  },

  async loadMe() {
    const response = await fetch("/api/me", { credentials: "same-origin" });
    ML.me = response.ok ? await response.json() : null;
    return ML.me;
  },

  say(text, isError) {
    const status = document.getElementById("status");
    status.textContent = text;
    status.className = isError ? "error" : "";
  },

  // -- safe Markdown: fenced code, inline code, **bold**, *italic*, [text](http(s) url) ---------------
  markdown(text) {
    const root = document.createDocumentFragment();
    const parts = text.split(/```/);
    parts.forEach((part, index) => {
      if (index % 2 === 1) {
        const body = part.replace(/^[^\n]*\n/, (line) => (line.trim().includes(" ") ? line : ""));
        root.append(ML.el("pre", {}, ML.el("code", {}, body)));
        return;
      }
      for (const paragraph of part.split(/\n{2,}/)) {
        if (!paragraph.trim()) continue;
        const p = ML.el("p", {});
        paragraph.split("\n").forEach((line, i) => {
          if (i > 0) p.append(ML.el("br", {}));
          ML.inline(line, p);
        });
        root.append(p);
      }
    });
    return root;
  },

  inline(line, parent) {
    const pattern = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*]+\*)|(\[[^\]]+\]\([^)\s]+\))/g;
    let last = 0;
    for (const match of line.matchAll(pattern)) {
      parent.append(document.createTextNode(line.slice(last, match.index)));
      const token = match[0];
      if (match[1]) parent.append(ML.el("code", {}, token.slice(1, -1)));
      else if (match[2]) parent.append(ML.el("strong", {}, token.slice(2, -2)));
      else if (match[3]) parent.append(ML.el("em", {}, token.slice(1, -1)));
      else parent.append(ML.link(token));
      last = match.index + token.length;
    }
    parent.append(document.createTextNode(line.slice(last)));
  },

  link(token) {
    const label = token.slice(1, token.indexOf("]("));
    const href = token.slice(token.indexOf("](") + 2, -1);
    let url = null;
    try {
      url = new URL(href);
    } catch (_) {
      url = null;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      return document.createTextNode(token); // javascript:, data: and the like stay plain text
    }
    return ML.el("a", { href: url.href, rel: "noopener noreferrer nofollow", target: "_blank" }, label);
  },
};

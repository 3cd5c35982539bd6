// WhatsApp's text formatting for the web chat: *bold*, _italic_, ~strike~, ```monospace```
// and `inline code`. `parse` is pure (a string in, a tree of plain values out); `render`
// turns the tree into DOM nodes with createElement and text nodes only, so markup in a
// message is always shown as text and never run.
"use strict";

window.WhatsAppFormat = (() => {
  const FENCE = "```";
  const STYLES = { "*": "bold", _: "italic", "~": "strike", "`": "code", [FENCE]: "mono" };
  const TAGS = { bold: "strong", italic: "em", strike: "s", code: "code", mono: "code" };
  const WORD = /[\p{L}\p{N}]/u;
  const SPACE = /\s/u;

  // As in WhatsApp, a marker counts only where it hugs its text: an opening one starts the
  // text or follows a character that is neither a letter nor a digit, and a space does not
  // follow it; a closing one follows a non-space and ends the text or comes before a
  // character that is neither a letter nor a digit. So `2*3*4`, `snake_case_name` and
  // `a * b * c` stay as they are. Only ```monospace``` may start or end with spaces.
  const isWord = (ch) => ch !== undefined && WORD.test(ch);
  const isSpace = (ch) => ch === undefined || SPACE.test(ch);

  function opens(text, at, marker) {
    if (isWord(text[at - 1])) return false;
    const next = text[at + marker.length];
    return marker === FENCE || (!isSpace(next) && next !== marker);
  }

  function closes(text, at, marker) {
    return (marker === FENCE || !isSpace(text[at - 1])) && !isWord(text[at + marker.length]);
  }

  // Where the marker that closes one opened at `start` is, or -1. Monospace may span lines;
  // the other styles end with their line, so a stray marker cannot run on through a reply.
  // Whether a marker can close does not depend on where it was opened, so once a search
  // finds none up to a line's end, later openers on that line (`dead`) need not look again:
  // a line full of lone markers costs linear time, not quadratic.
  function closing(text, start, marker, dead) {
    const newline = marker === FENCE ? -1 : text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline;
    if (dead[marker] === end) return -1;
    let at = text.indexOf(marker, start + marker.length + 1); // one character inside at least
    while (at !== -1 && at + marker.length <= end) {
      if (closes(text, at, marker)) return at;
      at = text.indexOf(marker, at + 1);
    }
    dead[marker] = end;
    return -1;
  }

  // A list of strings (plain text) and {style, children} nodes, styles nested inside each
  // other; the text of monospace and code is taken as it is.
  function parse(text) {
    const dead = {};
    const nodes = [];
    let plain = "";
    let at = 0;
    while (at < text.length) {
      const marker = text.startsWith(FENCE, at) ? FENCE : text[at];
      const style = STYLES[marker];
      const end = style && opens(text, at, marker) ? closing(text, at, marker, dead) : -1;
      const inner = end === -1 ? "" : text.slice(at + marker.length, end);
      if (inner.trim()) {
        if (plain) nodes.push(plain);
        plain = "";
        const literal = style === "mono" || style === "code";
        nodes.push({ style, children: literal ? [inner] : parse(inner) });
        at = end + marker.length;
      } else {
        plain += text[at];
        at += 1;
      }
    }
    if (plain) nodes.push(plain);
    return nodes;
  }

  function render(nodes) {
    const fragment = document.createDocumentFragment();
    for (const node of nodes) {
      if (typeof node === "string") {
        fragment.append(document.createTextNode(node));
        continue;
      }
      const element = document.createElement(TAGS[node.style]);
      if (node.style === "mono") element.className = "mono";
      element.append(render(node.children));
      fragment.append(element);
    }
    return fragment;
  }

  return Object.freeze({ parse, render, format: (text) => render(parse(text)) });
})();

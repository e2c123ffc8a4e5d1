"""Untrusted text on a page: strings that come from results.

A result's strings (a metric that is a label, a text artifact, provenance fields) are
data, not markup. Whatever reaches a page goes through here: it is escaped for HTML
*and* Markdown, so it can form no tag, link, emphasis, table cell, attribute list,
math, or line that a file-reading extension (``pymdownx.snippets``) would expand.
Links in a post's own prose may use only safe URL schemes (:func:`unsafe_link`).
"""

from __future__ import annotations

import html
import re

_NUMBER = re.compile(r"[-+−]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?|NaN|[-−]?∞")
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,%/")
_SNIPPET = re.compile(r"-+8<")  # the marker pymdownx.snippets looks for on a line


def _char(c: str) -> str:
    if c in _PLAIN or ord(c) > 0x9F:
        return c
    if c in "\n\r\t":
        return " "
    if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F:
        return "\ufffd"  # control characters (Markdown's own placeholders use \x02, \x03)
    if c in "<>&\"'":
        return html.escape(c)
    return f"&#{ord(c)};"  # ASCII punctuation: shown as itself, never read as markup


def inline(text: object) -> str:
    """``text`` as inline Markdown that shows exactly that text and nothing else.

    Numbers pass through unchanged; anything else has every ASCII punctuation character
    written as a character reference (so ``|`` cannot split a table cell, ``[`` cannot open
    a link and ``--8<--`` is no snippet), and line breaks become spaces. A hyphen inside a
    word stays as it is: ``2024-07-04``."""
    text = str(text)
    if _NUMBER.fullmatch(text):
        return text
    out, prev = [], ""
    for c in text:  # "-", "+", "=" inside a word (a date, a version, n=4) are never markup
        out.append(c if c in "-+=" and prev.isalnum() and prev.isascii() else _char(c))
        prev = c
    return "".join(out)


def block(text: str, info: str = "text") -> str:
    """A text artifact as a code block showing exactly ``text``.

    A fenced block keeps the text verbatim; if a line could be read as a snippet marker
    (preprocessors run before fences are recognised), the block is raw HTML instead, with
    every punctuation character escaped, so no extension can read it as an instruction."""
    if _SNIPPET.search(text):
        lines = ("".join(_char(c) if c not in "\t" else c for c in line) for line in text.split("\n"))
        return '<pre class="journal-text"><code>' + "\n".join(lines) + "</code></pre>"
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{info}\n{text}\n{fence}"


def attribute(text: object) -> str:
    """Text for an HTML attribute or element body (no Markdown is read there)."""
    return html.escape(str(text))


SAFE_SCHEMES = ("http", "https", "mailto", "ftp", "ftps", "tel")
_LINK = re.compile(
    r"""\]\(\s*<?\s*(?P<a>[^)\s>]*)"""                         # [text](url)
    r"""|^\s{0,3}\[[^\]]+\]:\s*<?(?P<b>\S*)"""                 # [ref]: url
    r"""|\b(?:href|src|action|formaction|xlink:href)\s*=\s*["']?(?P<c>[^"'>]*)"""  # raw HTML
    r"""|<(?P<d>[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^>\s]*)>""",    # <scheme:autolink>
    re.IGNORECASE)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def unsafe_link(line: str) -> str | None:
    """The unsafe URL scheme of the first link on ``line`` that has one (``javascript``), or None."""
    for m in _LINK.finditer(line):
        url = next(g for g in m.groups() if g is not None)
        url = html.unescape(url).strip()
        url = "".join(c for c in url if c.isprintable() and not c.isspace())  # java\tscript:
        s = _SCHEME.match(url)
        if s and s.group(1).lower() not in SAFE_SCHEMES:
            return s.group(1).lower()
    return None


def code(text: object) -> str:
    """A short token (a commit id) as inline code, or as escaped text if it is not one."""
    text = str(text)
    return f"`{text}`" if re.fullmatch(r"[\w.+\-]*", text, re.ASCII) else inline(text)

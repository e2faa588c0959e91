"""A web page's main content (trafilatura): headings, paragraphs, list items and table cells as plain text."""

from __future__ import annotations

import logging

# Main-content detection costs about 70 µs a tag (a 300,000-tag page took 16 s); pages with more tags than this
# go straight to the plain walker. Real report pages have 2,000 to 20,000.
MAIN_CONTENT_MAX_TAGS = 60_000

# Never text, whatever trafilatura thinks of it (it keeps a <template>'s inert markup).
_NEVER_TEXT = "//template|//script|//style|//noscript"
# trafilatura's output elements (its XML schema) that are blocks of their own.
_BLOCKS = frozenset("head p list table quote div body main doc".split())


def main_content_text(data: bytes, tags: int) -> str:
    """The plain text of the page's main content, "" when trafilatura finds none (or the page is too big for it).

    Page chrome, comments, scripts and styles are left out; headings and paragraphs are a blank line apart, list
    items are ``• `` lines, table cells are ``|``-separated on one line per row.
    """
    if tags > MAIN_CONTENT_MAX_TAGS:
        return ""
    body = _main_content_tree(data)
    return "" if body is None else _tree_text(body)


def _main_content_tree(data: bytes):
    """trafilatura's tree of the main content, or None (no main content, or trafilatura failed on the page)."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # it logs every page it finds too short
    try:
        # favor_recall: without it a short page falls back to trafilatura's bare paragraph finder, which drops
        # list items and table cells.
        document = trafilatura.bare_extraction(data, favor_recall=True, include_comments=False, include_tables=True,
                                               include_images=False, include_links=False, with_metadata=False,
                                               prune_xpath=_NEVER_TEXT)
    except Exception:  # noqa: BLE001 - a page trafilatura cannot handle falls back to the plain walker
        return None
    return getattr(document, "body", None) if document is not None else None


def _tree_text(body) -> str:
    """The text of trafilatura's output tree, with an explicit stack (no recursion on deep trees)."""
    out: list[str] = []
    stack: list = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
            continue
        if not isinstance(node.tag, str):  # comments and processing instructions
            if node.tail:
                stack.append(node.tail)
            continue
        before, after = _breaks(node)
        if node.tail:
            stack.append(node.tail)
        if after:
            stack.append(after)
        stack.extend(reversed(list(node)))
        out.append(before + (node.text or ""))
    return "".join(out)


def _breaks(node) -> tuple[str, str]:
    """The separators before and after one element of trafilatura's output."""
    name = node.tag
    if name == "lb":
        return "\n", ""
    if name == "cell":
        return " | ", ""
    if name == "item":
        return "\n• ", "\n"
    if name == "row":
        return "\n", "\n"
    parent = node.getparent()
    if name in _BLOCKS or (name == "code" and parent is not None and parent.tag in _BLOCKS - {"p", "head"}):
        return "\n\n", "\n\n"
    return "", ""

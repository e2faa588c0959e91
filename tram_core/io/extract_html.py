"""HTML reports to text: the page's main content (trafilatura), else every block but page chrome, within the limits."""

from __future__ import annotations

import re

from tram_core.io.extract_common import IngestError, looks_binary
from tram_core.io.extract_html_main import main_content_text
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits

_DROP_TAGS = ("script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg", "iframe", "form", "button")
# Page chrome that may still hold the page's main content (an advisory's <article> inside <aside role=complementary>).
_CHROME_TAGS = frozenset(("nav", "header", "footer", "aside"))
_CONTENT_TAGS = ("article", "main")
_BLOCK_TAGS = frozenset(
    "p div section article main h1 h2 h3 h4 h5 h6 ul ol dl dt dd blockquote pre table thead tbody tfoot "
    "figure figcaption address hr details summary caption body html center".split()
)
_LINE_TAGS = frozenset(["tr"])
# The main content is trusted unless it is both short and a small part of what the plain walker finds.
_TOO_LITTLE_CHARS = 1_000
_TOO_LITTLE_SHARE = 0.1


def extract_html(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, str]:
    """(title, text) of an HTML page: its <title>, else its first <h1>; the main content when trafilatura finds
    enough of it, else every block outside scripts, navigation, forms and other page chrome."""
    from bs4 import BeautifulSoup

    if looks_binary(data):
        raise IngestError(f"{filename}: this is a binary file, not HTML; the file may be corrupt or mislabelled")
    tags = data.count(b"<")
    limits.check_markup(tags, filename)
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:
        raise IngestError(f"{filename}: could not parse the HTML ({type(exc).__name__}: {str(exc)[:150]})") from None
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else ""
    _drop_page_chrome(soup)
    # The walker runs first: it checks the nesting limit before main-content detection sees a deep tree.
    walked = tidy_html_text(_html_text(soup.body or soup, filename, limits))
    main = tidy_html_text(main_content_text(data, tags))
    return title, choose_html_text(main, walked)


def choose_html_text(main: str, walked: str) -> str:
    """The main content, unless it is empty or too little beside the whole page's text (then the whole page's)."""
    main_chars, walked_chars = len(main.strip()), len(walked.strip())
    if not main_chars:
        return walked
    if main_chars < _TOO_LITTLE_CHARS and main_chars < _TOO_LITTLE_SHARE * walked_chars:
        return walked
    return main


def tidy_html_text(text: str) -> str:
    """One space between words, no blank bullets, and no leading separator on a table row's first cell."""
    text = re.sub(r"(?<![ \t])[ \t]*+\n[ \t]*+", "\n", text)  # linear: see normalize_text
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"^ ?\| ", "", text, flags=re.MULTILINE)  # the first cell of a table row
    text = re.sub(r"^• *\n+(?=[^\n•])", "• ", text, flags=re.MULTILINE)  # <li><p>item</p></li>
    text = re.sub(r"^• *$\n?", "", text, flags=re.MULTILINE)  # an item holding only a nested list
    return text


def _drop_page_chrome(soup) -> None:
    """Remove scripts, styles, forms and page chrome; chrome that holds an <article> or <main> is unwrapped instead.

    The holders are found walking up from each article once (a visited set), so nested chrome stays linear.
    """
    holders: set[int] = set()
    for content in soup.find_all(_CONTENT_TAGS):
        for parent in content.parents:
            if id(parent) in holders:
                break
            if parent.name in _CHROME_TAGS:
                holders.add(id(parent))
    for tag in soup.find_all(_DROP_TAGS):
        if tag.decomposed:
            continue
        if id(tag) in holders:
            tag.unwrap()
        else:
            tag.decompose()
    if soup.head:
        soup.head.decompose()


def _html_text(root, filename: str, limits: InputLimits) -> str:
    """The text of an HTML tree with block, line, list and cell breaks; an explicit stack, so no depth recursion."""
    from bs4 import Comment, NavigableString, Tag

    out: list[str] = []
    # Entries are a node to visit (node, in_pre, depth) or a string to emit once its children are done.
    stack: list = [(child, False, 1) for child in reversed(list(root.children))]
    while stack:
        entry = stack.pop()
        if isinstance(entry, str):
            out.append(entry)
            continue
        child, in_pre, depth = entry
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            if type(child) is not NavigableString:  # CData, Doctype, declarations
                continue
            out.append(str(child) if in_pre else re.sub(r"\s+", " ", str(child)))
            continue
        if not isinstance(child, Tag):
            continue
        limits.check_nesting(depth, filename)
        name = child.name.lower()
        if name == "br":
            out.append("\n")
            continue
        before, after = "", ""
        if name in ("td", "th"):
            before = " | "
        elif name == "li":
            before, after = "\n• ", "\n"
        elif name in _LINE_TAGS:
            before, after = "\n", "\n"
        elif name in _BLOCK_TAGS:
            before, after = "\n\n", "\n\n"
            in_pre = in_pre or name == "pre"
        out.append(before)
        if after:
            stack.append(after)
        stack.extend((grandchild, in_pre, depth + 1) for grandchild in reversed(list(child.children)))
    return "".join(out)

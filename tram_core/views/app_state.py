"""The dashboard's view state from a URL (report, sentence, model, user), who is annotating, and safe display of
report text. The pages reach these (and everything else) through tram_core.services."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping

VIEW_PARAMS = ("report", "sentence", "model")
MAX_USER_NAME = 100


@dataclass(frozen=True)
class ViewParams:
    """What a deep link asks for: ``?report=12&sentence=340`` (Annotate), ``?model=7`` (Evaluate).

    ``errors`` holds one message per unusable parameter; the usable ones are still set.
    """

    report: int | None = None
    sentence: int | None = None
    model: int | None = None
    user: str | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def wants_annotate(self) -> bool:
        return self.report is not None or self.sentence is not None

    @property
    def wants_evaluate(self) -> bool:
        return self.model is not None and not self.wants_annotate


def _single(value: object) -> str:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return str(value).strip()


def parse_view_params(params: Mapping[str, object]) -> ViewParams:
    """Read ``report``, ``sentence``, ``model`` (positive integers) and ``user`` from query parameters."""
    values: dict[str, int | None] = {}
    errors: list[str] = []
    for name in VIEW_PARAMS:
        raw = _single(params[name]) if name in params else ""
        if not raw:
            values[name] = None
            continue
        if raw.isdigit() and int(raw) > 0:
            values[name] = int(raw)
        else:
            values[name] = None
            errors.append(f"The link's '{name}={raw[:40]}' is not a {name} id (a positive whole number); ignored.")
    user = clean_user_name(_single(params["user"])) if "user" in params else None
    return ViewParams(values["report"], values["sentence"], values["model"], user or None, tuple(errors))


def clean_user_name(name: str | None) -> str:
    """A name fit to record as the author of a label: one line, printable, at most 100 characters."""
    text = re.sub(r"\s+", " ", name or "").strip()
    text = "".join(ch for ch in text if ch.isprintable())
    return text[:MAX_USER_NAME]


def default_user_name(environ: Mapping[str, str] | None = None) -> str:
    """Who is annotating when nobody said: $TRAM_USER, else 'analyst'."""
    env = os.environ if environ is None else environ
    return clean_user_name(env.get("TRAM_USER")) or "analyst"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~$&=])")
# Streamlit's Markdown (remark-gfm) turns bare URLs and e-mail addresses into links after it has decoded escapes and
# character references, so escaping cannot stop it: a link from a threat report must never be one click away. An
# invisible WORD JOINER (U+2060) between the parts the autolinker looks for ("www" + ".", "http" + "://",
# "user" + "@") breaks the pattern; the text looks the same.
WORD_JOINER = "\u2060"
_AUTOLINK_START = re.compile(r"(?i)(www)(?=\.)|(https?|ftp|mailto|xmpp|file)(?=:)|(?=@)")


def escape_markdown(text: str) -> str:
    """``text`` shown literally by a Markdown renderer: no links (not even bare URLs), emphasis, HTML, math or
    headings. Whitespace runs become single spaces so a sentence is one paragraph.
    """
    flat = re.sub(r"\s+", " ", text or "").strip()
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return _AUTOLINK_START.sub(lambda m: (m.group(1) or m.group(2) or "") + WORD_JOINER, escaped)

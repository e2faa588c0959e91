"""Each page keeps its state in one object under one session key, and its widget keys (listed on that object's
class, each with the page's prefix) are the only other keys a session holds."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.ui import PAGE_STATES
from tests.views.test_annotation import SCORES, add_model, add_report

REPO_ROOT = Path(__file__).resolve().parents[2]
UI_SCRIPTS = sorted((REPO_ROOT / "pages").glob("*.py")) + [REPO_ROOT / "streamlit_app.py"]
SESSION_CALLS = ("get", "pop", "setdefault", "__getitem__", "__setitem__")


def _widget_keys(cls) -> list[str]:
    return [f.default for f in dataclasses.fields(cls.widgets)]


def test_every_page_has_one_key_and_its_own_widget_prefix():
    keys = [cls.KEY for cls in PAGE_STATES]
    prefixes = [cls.PREFIX for cls in PAGE_STATES]
    assert len(set(keys)) == len(keys) and len(set(prefixes)) == len(prefixes)
    for cls in PAGE_STATES:
        listed = _widget_keys(cls)
        assert all(key.startswith(cls.PREFIX) for key in listed), (cls.__name__, listed)
        assert not any(key.startswith(p) for key in listed for p in prefixes if p != cls.PREFIX and
                       p.startswith(cls.PREFIX))
    w = PAGE_STATES[2].widgets  # Annotate's keys made per suggestion, technique or sentence
    assert all(key.startswith("ann_") for key in (w.suggestion(1), w.toggle(1), w.add("T1055"),
                                                   w.accept("T1055", 1, 0), w.reject("T1055", 1, 0),
                                                   w.open("T1055", 1)))


def _literal(node: ast.AST) -> bool:
    return isinstance(node, (ast.Constant, ast.JoinedStr)) and not (isinstance(node, ast.Constant)
                                                                     and not isinstance(node.value, str))


def _is_session(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "S") or (isinstance(node, ast.Attribute)
                                                                and node.attr == "session_state")


def _literal_keys(path: Path) -> list[str]:
    """Widget keys and session-state keys written as literals (not taken from a state class)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            found += [ast.unparse(k.value) for k in node.keywords if k.arg == "key" and _literal(k.value)]
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "form" and node.args and _literal(node.args[0]):
                found.append(ast.unparse(node.args[0]))
            if isinstance(func, ast.Attribute) and func.attr in SESSION_CALLS and _is_session(func.value) \
                    and node.args and _literal(node.args[0]):
                found.append(ast.unparse(node.args[0]))
        elif isinstance(node, ast.Subscript) and _is_session(node.value) and _literal(node.slice):
            found.append(ast.unparse(node.slice))
    return found


@pytest.mark.parametrize("path", UI_SCRIPTS, ids=lambda p: p.name)
def test_pages_take_every_key_from_their_state_class(path):
    assert _literal_keys(path) == []


def test_a_session_holds_the_state_objects_and_namespaced_widget_keys_only(tram_home, store, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    report_id, ids = add_report(store)
    add_model(store, ids, SCORES)
    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/annotate.py").run()
    assert not at.exception, at.exception
    held = set(at.session_state.to_dict())
    objects = {cls.KEY for cls in PAGE_STATES}
    assert {"app", "reports", "annotate"} <= held
    loose = [key for key in held - objects if not key.startswith(tuple(cls.PREFIX for cls in PAGE_STATES))]
    assert loose == []
    for cls in PAGE_STATES:
        if cls.KEY in held:
            assert isinstance(at.session_state[cls.KEY], cls)

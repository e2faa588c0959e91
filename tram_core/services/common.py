"""What every page needs: settings, store and catalog, the acting user, error lines, deep links, the worker line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from tram_core import access
from tram_core.access import Capabilities
from tram_core.attack import Catalog
from tram_core.attack import load_catalog as _load_catalog
from tram_core.errors import UserError, is_user_error
from tram_core.settings import Settings
from tram_core.settings import load_settings as _load_settings
from tram_core.store import Store, TrainedModel
from tram_core.views.annotation_panel import technique_label
from tram_core.views.app_state import ViewParams, clean_user_name, default_user_name, escape_markdown, parse_view_params
from tram_core.views.model_choice import default_model, model_label

ANNOTATE = "annotate"  # the pages a deep link can lead to
EVALUATE = "evaluate"


@dataclass(frozen=True)
class Context:
    """What every service call works on: the settings, the store (database) and the ATT&CK catalog."""

    settings: Settings
    store: Store
    catalog: Catalog


def load_settings() -> Settings:
    """The settings from the environment; a bad variable raises a UserError naming it."""
    return _load_settings()


def open_store(settings: Settings) -> Store:
    """The store (engine and connection pool) for ``settings``' database."""
    return Store.from_settings(settings)


def load_catalog() -> Catalog:
    """The ATT&CK catalog (loaded once per process)."""
    return _load_catalog()


def open_context(settings: Settings | None = None) -> Context:
    """A context of its own (the command line, tests): pages build theirs from cached parts."""
    settings = settings or load_settings()
    return Context(settings, open_store(settings), load_catalog())


def technique_labels(catalog: Catalog) -> dict[str, str]:
    """``{technique id: 'T1055 Process Injection (defense-evasion, ...)'}`` for every picker."""
    return {t.id: technique_label(catalog, t.id) for t in catalog.techniques(include_revoked=True)}


def database_name(ctx: Context) -> str:
    """The database as the sidebar shows it (no password)."""
    return ctx.store.display_url


@dataclass(frozen=True)
class ModelChoices:
    """Models for a picker: their ids (newest first), how the picker names each, and the one shown first."""

    ids: tuple[int, ...] = ()
    labels: Mapping[int, str] = field(default_factory=dict)
    default: int | None = None

    def label(self, model_id: int) -> str:
        return self.labels.get(model_id, str(model_id))

    def index(self, model_id: int | None) -> int:
        """The picker position of ``model_id``, else of the default model (0 when neither is listed)."""
        for wanted in (model_id, self.default):
            if wanted in self.ids:
                return self.ids.index(wanted)
        return 0


def model_choices(models: Sequence[TrainedModel]) -> ModelChoices:
    """A picker over ``models``: each named by id, name, score and promoted mark; the promoted (else newest) first."""
    first = default_model(models)
    return ModelChoices(tuple(m.id for m in models), {m.id: model_label(m) for m in models},
                        first.id if first is not None else None)


# --------------------------------------------------------------------------------------------------- who acts


def acting_user(name: str | None) -> str:
    """Who is acting: the name given (cleaned to one printable line), else $TRAM_USER, else 'analyst'."""
    return clean_user_name(name) or default_user_name()


def clean_user(name: str | None) -> str:
    """A name as typed, cleaned to one printable line of at most 100 characters ('' when none)."""
    return clean_user_name(name)


def first_user(link_user: str | None) -> str:
    """The name a new browser session starts with: the link's ``user``, else the default."""
    return clean_user_name(link_user) or default_user_name()


def unnamed_note(typed: str | None) -> str | None:
    """What the sidebar says when no name is given: under which name labels are saved."""
    if clean_user_name(typed):
        return None
    return f"No name given: labels are saved as '{acting_user(typed)}'."


def check_user(user: str, action: str) -> str:
    """The acting user's name, checked before ``action`` runs: every user action of every service passes here.

    ``action`` is a permission of ``tram_core.access`` ("label sentences", "delete a report", ...): a user whose role
    lacks it gets a ``PermissionDenied`` saying who, what, and the role it needs. In single-user mode a plain name is
    the local admin; in team mode only a signed-in ``Actor`` (``services.accounts.session_user``) acts.
    """
    name = clean_user_name(user)
    if not name:
        raise UserError(f"Cannot {action}: say who you are first (the name in the sidebar)")
    access.require(user if isinstance(user, access.Actor) else name, action)
    return name


def capabilities(user: str) -> Capabilities:
    """What ``user`` may do: the pages show only the controls whose action the role allows."""
    return access.capabilities(user)


def check_listen_address(address: str | None) -> None:
    """Single-user mode only on loopback, unless sign-in is on or open access is stated (see access)."""
    access.check_listen_address(address)


def team_mode() -> bool:
    """Whether accounts and sign-in are on (``TRAM_AUTH=local``); else single-user mode."""
    return access.team_mode()


# --------------------------------------------------------------------------------------------------- words


def literal(text: str) -> str:
    """Report or user text made safe for Markdown (shown literally, never as a link, emphasis or HTML)."""
    return escape_markdown(text)


def error_line(exc: BaseException, doing: str = "") -> str:
    """One clear line for the user: their bad input as is, anything else named without a traceback."""
    prefix = f"{doing}: " if doing else ""
    if is_user_error(exc):
        return f"{prefix}{exc}"
    return f"{prefix}unexpected error ({type(exc).__name__}): {exc}"


# --------------------------------------------------------------------------------------------------- deep links


def read_link(params: Mapping[str, object]) -> ViewParams:
    """What a URL's query asks for: report, sentence, model and user, with one message per unusable value."""
    return parse_view_params(params)


def sentence_link(report_id: int, sentence_id: int | None = None) -> dict[str, str]:
    """The query of an address that opens a report (at one sentence) in Annotate: what ``read_link`` reads back."""
    link = {"report": str(report_id)}
    if sentence_id is not None:
        link["sentence"] = str(sentence_id)
    return link


def link_page(view: ViewParams) -> str | None:
    """The page a link to the app's root is meant for: ANNOTATE (report, sentence), EVALUATE (model) or None."""
    if view.wants_annotate:
        return ANNOTATE
    if view.wants_evaluate:
        return EVALUATE
    return None


# --------------------------------------------------------------------------------------------------- worker


def worker_autostart(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the dashboard starts a worker when none runs: yes unless ``TRAM_WORKER_AUTOSTART`` is 0/false/no/off."""
    env = os.environ if environ is None else environ
    return (env.get("TRAM_WORKER_AUTOSTART") or "1").strip().lower() not in {"0", "false", "no", "off"}


def worker_status_line(ctx: Context) -> str:
    """The sidebar's one line about the background worker; never raises (the line must not break a page).

    It is the line of ``queue.worker_state``, the same read the Train page's live panel draws from (its
    ``worker_line``), so the two never disagree about which run is running or being cancelled."""
    try:
        from tram_core.jobs import queue

        return queue.worker_state(ctx.store).line
    except Exception as exc:  # noqa: BLE001 - shown as 'unknown', never as a traceback
        return f"Worker: unknown ({type(exc).__name__})"


@dataclass(frozen=True)
class WorkerStart:
    """What starting a worker for the user did: a line to show briefly, or why it could not start."""

    started: str = ""
    error: str = ""


def start_worker(ctx: Context) -> WorkerStart:
    """Start a background worker when none runs (unless TRAM_WORKER_AUTOSTART turns this off)."""
    if not worker_autostart():
        return WorkerStart()
    try:
        from tram_core.jobs import queue

        if queue.ensure_worker_running(ctx.settings):
            return WorkerStart(started="Started a background worker for training and prediction jobs.")
    except Exception as exc:  # noqa: BLE001 - a worker that cannot start must not block annotation
        return WorkerStart(error=f"Could not start a worker: {exc}")
    return WorkerStart()


def ensure_worker(ctx: Context) -> bool:
    """After queueing a job: start a worker when none runs and autostart is on; whether one was started."""
    if not worker_autostart():
        return False
    from tram_core.jobs import queue

    return bool(queue.ensure_worker_running(ctx.settings))

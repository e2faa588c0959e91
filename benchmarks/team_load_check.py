"""The team-load benchmark's write check: every acknowledged save against the stored labels and the label history.

An acknowledged write is one the page reported as saved (a save, a Keep mine, an undo): it carries the sentence's
new version. Versions rise by one per write, so on each sentence the writes form one line, and:

- ``duplicate``: two acknowledged writes with the same sentence and version (one of them overwritten);
- ``stored differs``: the sentence's stored labels, status or version are not those of its last acknowledged write;
- ``missing from history``: the label history's event for that version is absent or records other labels, status
  or user;
- ``blind overwrite``: a save acknowledged at version v although the analyst had opened version w < v - 1: it
  replaced someone's writes it never saw, with no conflict shown;
- ``undo over another's save``: an undo that replaced a save another analyst made after the undone one (undo takes
  no version check), with no conflict shown.

A lost write is any of these. ``unacknowledged`` counts writes in the history that no process acknowledged (none
expected: every process stops cleanly).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

LOSS_KINDS = ("duplicate", "stored differs", "missing from history", "blind overwrite", "undo over another's save")


@dataclass
class WriteCheck:
    """What the check found: acknowledged writes, lost ones by kind, unacknowledged ones, and examples."""

    acknowledged: int = 0
    lost: Counter = field(default_factory=Counter)
    unacknowledged: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def lost_total(self) -> int:
        return sum(self.lost.values())

    def flag(self, kind: str, text: str) -> None:
        self.lost[kind] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {text}")


def acknowledged_writes(records: list[dict]) -> dict[int, list[dict]]:
    """Every process's acknowledged writes by sentence, each with its user, sorted by version."""
    by_sentence: dict[int, list[dict]] = defaultdict(list)
    for record in records:
        for ack in record["acks"]:
            by_sentence[ack["sentence"]].append({**ack, "user": record["user"]})
    for acks in by_sentence.values():
        acks.sort(key=lambda a: a["version"])
    return by_sentence


def _check_sentence(check: WriteCheck, sentence, events: list, start_version: int, acks: list[dict]) -> None:
    """One sentence: its acknowledged writes against its stored state and its history (oldest event first)."""
    versions = Counter(a["version"] for a in acks)
    for version, count in versions.items():
        if count > 1:
            for _ in range(count - 1):
                check.flag("duplicate", f"sentence {sentence.id} version {version} acknowledged {count} times")
    last = acks[-1]
    if (sentence.version, list(sentence.labels), sentence.status) != (last["version"], last["labels"],
                                                                       last["status"]):
        check.flag("stored differs", f"sentence {sentence.id} stored v{sentence.version} {list(sentence.labels)} "
                                     f"{sentence.status}, last acknowledged v{last['version']} {last['labels']} "
                                     f"{last['status']} by {last['user']}")
    check.unacknowledged += max(0, len(events) - len(versions))
    for ack in acks:
        index = ack["version"] - start_version - 1
        event = events[index] if 0 <= index < len(events) else None
        if event is None or (event.user, list(event.after_labels), event.after_status, event.action) != (
                ack["user"], ack["labels"], ack["status"], ack["action"]):
            check.flag("missing from history", f"sentence {sentence.id} v{ack['version']} by {ack['user']}")
        if ack["action"] == "label" and ack["based_on"] != ack["version"] - 1:
            check.flag("blind overwrite", f"sentence {sentence.id} v{ack['version']} by {ack['user']} opened at "
                                          f"v{ack['based_on']}")
        if ack["action"] == "undo" and 0 <= index - 1 < len(events) and events[index - 1].user != ack["user"]:
            check.flag("undo over another's save", f"sentence {sentence.id}: {ack['user']}'s undo (v{ack['version']})"
                                                   f" replaced {events[index - 1].user}'s save "
                                                   f"{list(events[index - 1].after_labels)}")


def starting_points(store, sentence_ids) -> dict[int, tuple[int, int]]:
    """Before the run: each sentence's version and the number of label events it already has."""
    return {i: (store.get_sentence(i).version, len(store.label_history(i, limit=1_000_000))) for i in sentence_ids}


def check_writes(store, records: list[dict], start: dict[int, tuple[int, int]]) -> WriteCheck:
    """Compare every acknowledged write of ``records`` (the annotator processes' output) with the store;
    ``start`` is ``starting_points`` of the pool, taken before the run."""
    check = WriteCheck()
    by_sentence = acknowledged_writes(records)
    check.acknowledged = sum(len(acks) for acks in by_sentence.values())
    for sentence_id, (version, events_before) in start.items():
        sentence = store.get_sentence(sentence_id)
        events = list(reversed(store.label_history(sentence_id, limit=1_000_000)))[events_before:]
        acks = by_sentence.get(sentence_id, [])
        if acks:
            _check_sentence(check, sentence, events, version, acks)
        else:
            check.unacknowledged += len(events)
    for sentence_id in set(by_sentence) - set(start):
        check.flag("stored differs", f"sentence {sentence_id} written but not in the pool")
    return check

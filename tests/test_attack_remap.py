"""Remapping stored labels to another ATT&CK version: the listing changes nothing; applying swaps each revoked or
moved technique for its replacement through the label history, for maintainers only."""

from __future__ import annotations

import pytest

from tests.attack_bundles import remap_bundle, stored_report
from tram_core.access import Actor, PermissionDenied
from tram_core.attack import load_stix_bundle
from tram_core.attack_remap import DEPRECATED, MISSING, MOVED, REPLACED, apply_remap, plan_remap
from tram_core.store import REVIEWED

@pytest.fixture
def v19(tmp_path):
    return load_stix_bundle(remap_bundle(tmp_path / "enterprise-attack.json"))


def test_the_listing_names_every_outdated_label_with_its_replacement_and_changes_nothing(store, v19):
    ids = stored_report(store)
    events = len(store.label_history())
    plan = plan_remap(store, v19)
    found = {c.technique: (c.change, c.replacement, c.sentence_ids) for c in plan.changes}
    assert found == {
        "T1027": (DEPRECATED, None, (ids[3],)),
        "T1047": (MISSING, None, (ids[4],)),
        "T1086": (MOVED, "T1059.001", (ids[2],)),
        "T1574.002": (REPLACED, "T1574.001", (ids[0], ids[1])),
    }
    assert plan.catalog == f"ATT&CK v19.0 (from {v19.source})" and plan.sentences_to_relabel == 3
    assert [c.note for c in plan.changes if c.technique in ("T1027", "T1086")] == [
        "deprecated; no replacement: relabel by hand", "moved: use T1059.001"]
    assert len(store.label_history()) == events and store.get_sentence(ids[0]).labels == ("T1574.002",)


def test_applying_relabels_through_the_history_and_keeps_each_answers_status(store, v19):
    ids = stored_report(store)
    maintainer = Actor("mia", "maintainer")
    result = apply_remap(store, maintainer, plan_remap(store, v19))
    assert sorted(result.relabelled) == sorted([ids[0], ids[1], ids[2]]) and result.skipped == ()
    assert store.get_sentence(ids[0]).labels == ("T1574.001",)
    merged = store.get_sentence(ids[1])
    assert merged.labels == ("T1574.001",) and merged.status == REVIEWED  # old and new label collapse into one
    assert store.get_sentence(ids[2]).labels == ("T1055", "T1059.001")
    assert store.get_sentence(ids[3]).labels == ("T1027",)  # deprecated, no replacement: left for a person
    history = {e.sentence_id: e for e in store.label_history(limit=3)}
    assert set(history) == {ids[0], ids[1], ids[2]}
    side_loading = history[ids[1]]
    assert side_loading.user == "mia" and side_loading.at is not None
    assert side_loading.before_labels == ("T1574.001", "T1574.002") and side_loading.after_labels == ("T1574.001",)
    assert (side_loading.before_status, side_loading.after_status) == (REVIEWED, REVIEWED)
    audit = store.audit_events(kinds=("label space",))
    assert len(audit) == 1 and audit[0].user == "mia" and "ATT&CK v19.0" in audit[0].target
    again = plan_remap(store, v19)
    assert {c.technique for c in again.changes} == {"T1027", "T1047"} and again.sentences_to_relabel == 0


def test_only_a_maintainer_may_apply_a_remap(store, v19):
    ids = stored_report(store)
    plan = plan_remap(store, v19)
    with pytest.raises(PermissionDenied, match="ana \\(annotator\\) may not edit the label space"):
        apply_remap(store, Actor("ana", "annotator"), plan)
    assert store.get_sentence(ids[0]).labels == ("T1574.002",) and not store.audit_events(kinds=("label space",))


def test_a_sentence_changed_since_the_listing_is_relabelled_from_its_current_labels(store, v19):
    ids = stored_report(store)
    plan = plan_remap(store, v19)
    store.set_labels(ids[0], ["T1055"], "ana")  # someone answered the sentence again meanwhile
    result = apply_remap(store, Actor("mia", "maintainer"), plan)
    assert ids[0] not in result.relabelled and store.get_sentence(ids[0]).labels == ("T1055",)

"""ATT&CK's procedure examples read as labelled sentences: clean text, the right technique (revoked ones mapped,
deprecated ones dropped), counts that add up, from a file written here and from the real ATT&CK data."""

from __future__ import annotations

import json

import pytest

from tests.attack_bundles import attack_pattern, pattern_id, remap_bundle, revoked_by, write_bundle
from tram_core.attack import load_stix_bundle
from tram_core.errors import UserError
from tram_core.ml.procedure_examples import (
    clean_procedure_text, description_sentences, load_procedure_examples, parse_procedure_examples,
    read_relationships, within_label_space,
)

APT = "intrusion-set--0c5f1533-f617-4ca8-9ab4-6a02367fa019"
TOOL = "malware--1c5f1533-f617-4ca8-9ab4-6a02367fa019"


def uses(technique: str, description: str, source: str = APT, **extra) -> dict:
    target = technique if technique.startswith("attack-pattern--") else pattern_id(technique)
    return {"type": "relationship", "relationship_type": "uses", "source_ref": source, "target_ref": target,
            "description": description, **extra}


RELATIONSHIPS = [
    uses("T1055", "[APT9](https://attack.mitre.org/groups/G0009) has injected code into `explorer.exe` using "
                  "<code>VirtualAllocEx</code>.(Citation: Vendor 2020)(Citation: Other 2021)"),
    uses("T1574.002", "[APT9](https://attack.mitre.org/groups/G0009) side-loaded a DLL next to a signed binary."),
    uses("T1086", "[BadTool](https://attack.mitre.org/software/S9999) runs PowerShell to fetch its second stage.",
         TOOL),
    uses("T1027", "[APT9](https://attack.mitre.org/groups/G0009) packed its payloads with UPX."),
    uses("attack-pattern--00000000-0000-4000-8000-000000000000", "APT9 did something no catalog knows about."),
    uses("T1055", "[APT9](https://attack.mitre.org/groups/G0009) has injected code into `explorer.exe` using "
                  "<code>VirtualAllocEx</code>. (Citation: Vendor 2022)"),  # the same sentence again
    uses("T1003.001", "[APT9](https://attack.mitre.org/groups/G0009) has injected code into `explorer.exe` using "
                      "<code>VirtualAllocEx</code>."),  # the same sentence, another technique
    uses("T1003.001", "[APT9](https://attack.mitre.org/groups/G0009) dumped LSASS memory with a renamed "
                      "procdump.(Citation: Vendor Rep..."),  # cut short by the source inside a citation
    uses("T1003.001", "[BadTool](https://attack.mitre.org/software/S9999) reads the memory of lsass.exe and "
                      "parses the credentials it fin...", TOOL),  # cut short inside a word
    uses("T1055", "APT9 once injected code, but this relationship was revoked.", revoked=True),
    {"type": "relationship", "relationship_type": "mitigates", "source_ref": "course-of-action--1",
     "target_ref": pattern_id("T1055"), "description": "Not a procedure."},
    {"type": "relationship", "relationship_type": "uses", "source_ref": APT, "target_ref": TOOL,
     "description": "APT9 uses BadTool."},  # a group using software: no technique
]


@pytest.fixture
def bundle_catalog(tmp_path):
    return load_stix_bundle(remap_bundle(tmp_path / "attack.json"))


def test_descriptions_become_plain_sentences_labelled_with_current_techniques(bundle_catalog, tmp_path):
    path = tmp_path / "relationships.json"
    path.write_text(json.dumps({"relationships": RELATIONSHIPS}))
    examples, counts = parse_procedure_examples(read_relationships(path), bundle_catalog)
    by_text = {e.text: e.labels for e in examples}
    injected = "APT9 has injected code into explorer.exe using VirtualAllocEx."
    assert by_text == {
        injected: ("T1055", "T1003.001"),
        "APT9 side-loaded a DLL next to a signed binary.": ("T1574.001",),  # revoked in favour of T1574.001
        "BadTool runs PowerShell to fetch its second stage.": ("T1059.001",),  # T1086 became T1059.001
        "APT9 dumped LSASS memory with a renamed procdump.": ("T1003.001",),
        "BadTool reads the memory of lsass.exe and parses the credentials it": ("T1003.001",),
    }
    assert counts.relationships == 10  # the mitigation and the group -> software relationship are no procedures
    assert (counts.kept, counts.mapped, counts.merged, counts.duplicates, counts.truncated) == (6, 2, 1, 1, 2)
    assert counts.dropped == 3 and counts.dropped_why == {
        "technique deprecated": 1, "technique not in the catalog": 1, "relationship revoked or deprecated": 1}
    assert counts.relationships == counts.kept + counts.dropped + counts.duplicates
    assert counts.examples == len(examples) == 5
    assert all(e.sentence_id < 0 and e.report_id < 0 and e.status == "procedure" for e in examples)
    # One source, one group: the examples of APT9 share a "report", BadTool's another.
    groups = {e.doc_title: e.report_id for e in examples}
    assert set(groups) == {APT, TOOL} and groups[APT] != groups[TOOL]


def test_a_stix_bundle_gives_the_same_examples_as_a_lookup_file(tmp_path):
    objects = [attack_pattern("T1055", "Process Injection"), attack_pattern("T1086", "PowerShell", revoked=True),
               attack_pattern("T1059.001", "PowerShell"), revoked_by("T1086", "T1059.001"),
               *RELATIONSHIPS[:3]]
    path = write_bundle(tmp_path / "bundle.json", objects)
    examples, counts = parse_procedure_examples(read_relationships(path), load_stix_bundle(path))
    assert [e.labels for e in examples] == [("T1055",), ("T1059.001",)]
    assert counts.dropped == 1 and counts.mapped == 1  # T1574.002 is not in this bundle


@pytest.mark.parametrize("raw, clean, cut", [
    ("[X](https://a/b) used `cmd.exe /c`.(Citation: A)", "X used cmd.exe /c.", False),
    ("X used <code>net   user</code>\n to list <hostname> accounts .", "X used net user to list <hostname> accounts.",
     False),
    ("X wrote to C:\\\\Temp\\/x.log &amp; exited.", "X wrote to C:\\\\Temp/x.log & exited.", False),
    ("X dropped a file.(Cita...", "X dropped a file.", True),
    ("X dropped a file into [Y](https://attack.mitre.org/softw...", "X dropped a file into", True),
    ("X used <code>whoa...", "X used", True),
])
def test_cleaning_keeps_the_words_and_drops_the_markup(raw, clean, cut):
    assert clean_procedure_text(raw) == (clean, cut)


def test_sub_techniques_count_as_their_parent_only_where_the_label_space_needs_it(bundle_catalog, tmp_path):
    path = tmp_path / "relationships.json"
    path.write_text(json.dumps({"relationships": RELATIONSHIPS}))
    examples, _ = parse_procedure_examples(read_relationships(path), bundle_catalog)
    as_parents = within_label_space(examples, ["T1003", "T1055"])
    assert sorted(set(t for e in as_parents for t in e.labels)) == ["T1003", "T1055"]
    assert len(as_parents) == 3  # the PowerShell and DLL examples have no technique in this label space
    kept = within_label_space(examples, ["T1003", "T1003.001"])
    assert {t for e in kept for t in e.labels} == {"T1003.001"}


def test_a_file_that_holds_no_relationships_is_one_clear_error(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"techniques": []}))
    with pytest.raises(UserError, match="holds no ATT&CK relationships") as caught:
        read_relationships(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(UserError, match="Cannot read ATT&CK relationships"):
        read_relationships(tmp_path / "missing.json")


def test_the_embedded_attack_gives_thousands_of_clean_examples():
    examples, counts = load_procedure_examples()
    assert counts.relationships > 15_000 and len(examples) > 10_000
    assert counts.relationships == counts.kept + counts.dropped + counts.duplicates
    texts = [e.text for e in examples]
    assert not [t for t in texts if "(Citation" in t or "](http" in t or "`" in t or "<code>" in t]
    assert not [t for t in texts if t.endswith("...") or t != " ".join(t.split())]
    assert len({t for e in examples for t in e.labels}) > 500


def test_group_and_software_descriptions_give_sentences_about_no_technique():
    sentences = description_sentences()
    assert len(sentences) > 500
    assert all(s.labels == () and s.status == "procedure" and s.sentence_id < 0 for s in sentences)
    assert not [s.text for s in sentences if "(Citation" in s.text or "](http" in s.text]
    examples, _ = load_procedure_examples()
    assert not {s.sentence_id for s in sentences} & {e.sentence_id for e in examples}

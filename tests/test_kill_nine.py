"""kill -9 of a running import and of a training worker: the store is as before or as after, never half-written."""

from __future__ import annotations

import pytest

from tests.engine_helpers import TINY_OPTIONS, fill_store
from tests.kill_nine import MIXED, kill_imports, kill_workers, write_corpus
from tram_core.store import Store

pytestmark = pytest.mark.slow


@pytest.mark.timeout(300)
def test_an_import_killed_at_random_moments_leaves_the_store_before_or_after(tmp_path):
    files = write_corpus(tmp_path / "corpus", reports=40)
    seed_files = [p.rename(p.with_name("seed-" + p.name)) for p in write_corpus(tmp_path / "seed", reports=2,
                                                                                  sentences=5)]
    results, duration = kill_imports(tmp_path / "imports", files, seed_files, kills=4, seed=1)
    assert [r.state for r in results if r.state == MIXED] == [], results
    assert duration > 0


@pytest.mark.timeout(300)
def test_a_worker_killed_at_random_moments_leaves_no_orphan_after_the_next_start(tmp_path, tiny_bert_dir):
    home = tmp_path / "home"
    fill_store(Store(f"sqlite:///{home / 'tram.sqlite3'}"), reports=4)
    results = kill_workers(home, str(tiny_bert_dir), {**TINY_OPTIONS, "epochs": 30}, kills=2, seed=3)
    results += kill_workers(home, "baseline", {"min_count": 2}, kills=1, seed=4)
    for result in results:
        assert result.partials_after_restart == 0 and result.check_exit == 0, result

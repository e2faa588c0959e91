"""The baseline's word-cached character n-grams equal scikit-learn's char_wb; common words can add none."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from tests.ml.baseline_helpers import toy_data
from tram_core.ml.baseline_features import WordCharTfidf


def test_word_cached_char_ngrams_equal_scikit_learns_char_wb():
    texts, _ = toy_data()
    texts = texts + ["Short  words:\ta, I\nand cmd.exe /c whoami; T1055 HKLM\\Software\\Run!"]
    ours = WordCharTfidf(ngram_range=(3, 5), min_df=1, max_features=None).fit(texts)
    sklearns = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1).fit(texts)
    assert set(ours.vocabulary_) == set(sklearns.vocabulary_)
    order = [ours.vocabulary_[g] for g in sorted(sklearns.vocabulary_, key=sklearns.vocabulary_.get)]
    unseen = ["Mimikatz2 dumped LSASS.", "nothing known here zzqx"]
    for batch in (texts, unseen):
        np.testing.assert_allclose(ours.transform(batch)[:, order].toarray(), sklearns.transform(batch).toarray(),
                                   atol=1e-6)


def test_common_words_add_no_char_ngrams_but_unseen_words_do():
    texts, _ = toy_data()
    features = WordCharTfidf(ngram_range=(3, 5), min_df=1, max_features=None, skip_df=3).fit(texts)
    assert "the" in features.skipped_words_ and "lsass" in features.skipped_words_
    assert "mimikatz" not in features.skipped_words_
    assert features.transform(["the the the"]).nnz == 0
    assert features.transform(["mimikatz2"]).nnz > 0  # a new tool name still shares n-grams with mimikatz

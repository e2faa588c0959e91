"""Models and their scores: base models, the TF-IDF baseline, fine-tuning, loading and predicting, thresholds,
metrics and model cards. Knows nothing of jobs, pages or the command line."""

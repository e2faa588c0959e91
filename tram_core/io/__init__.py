"""Files and URLs in and out: fetching, extracting and splitting reports, reading and checking datasets, and the
exports (TRAM JSON, CSV, ATT&CK Navigator layers). Below the models: it never imports tram_core.ml."""

"""TRAM core: reports, sentences, ATT&CK labels, datasets, training and metrics, without any user interface."""

__version__ = "0.1.0"

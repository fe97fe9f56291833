"""Datasets as chat records: real-format loaders, toy generators, and the registry that
maps a config entry (``source: toy | hf | file``) to a list of records."""

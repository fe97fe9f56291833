"""Tables and figures from metrics files (``results/metrics/<task>/<variant>/<benchmark>.json``)."""

"""tunesafe: what fine-tuning does to the control we have over aligned language models.

One package, one subpackage per stage (see docs/design.md): ``data``, ``toy``, ``train``,
``generation``, ``evaluation``, ``report`` and the ``cli`` that wires them to commands.
"""

__version__ = "0.1.0"

"""The Picky LLMs arm: "Picky LLMs and Unreliable RMs: An Empirical Study on Safety Alignment
after Instruction Tuning" (Li et al., arXiv 2502.01116).

Which properties of *benign* fine-tuning data erode an aligned model's safety (answer
structure, identity calibration, role-play: Sec. 3-4, and their combinations), and whether
reward models see it (Sec. 5). Everything this arm alone needs lives here:

- :mod:`~tunesafe.picky.transforms`: the data factors, a registry of pure record transforms;
- :mod:`~tunesafe.picky.data`: a domain's records drawn once and written under every variant;
- :mod:`~tunesafe.picky.pairs`: preference pairs (toy reward-model training, safety pairs);
- :mod:`~tunesafe.picky.rm`: reward-model scoring through the shared scorer registry;
- :mod:`~tunesafe.picky.metrics`: separation, safety-pair accuracy, Kendall tau;
- :mod:`~tunesafe.picky.report`: the factor and reward-model tables and the figure;
- :mod:`~tunesafe.picky.commands`: one function per ``tunesafe picky`` command (``cli`` parses).

Fine-tuning (LoRA), generation, keyword ASR and the judge are the shared stages
(``tunesafe train sft``, ``generate``, ``evaluate``); workflow/rules/picky.smk wires them.
"""

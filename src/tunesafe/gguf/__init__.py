"""GGUF model source: a GGUF file (a local path, or a file inside a pip package) converted
once into a plain Hugging Face checkpoint (see :mod:`tunesafe.gguf.convert`)."""

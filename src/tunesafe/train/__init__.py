"""Fine-tuning: full-parameter and LoRA SFT with the loss on assistant tokens."""

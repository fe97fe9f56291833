"""Safe Delta (arXiv 2505.12038): safety Hessians of the aligned model, cached once, and the
budgeted selection + OBS compensation applied to each fine-tune's weight delta."""

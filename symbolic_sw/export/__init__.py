"""Export: derivation specs → closed forms → numeric kernels, LaTeX and READMEs."""

"""Table 5 of the paper: its runner, flagfiles, diagnostics and results."""

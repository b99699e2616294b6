"""Table 3 of the paper: its runner, flagfiles, diagnostics and results."""

"""Table 4 of the paper: its runner, flagfiles, diagnostics and results."""

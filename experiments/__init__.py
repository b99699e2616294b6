"""The paper's reproduction: one folder per table, run from the repository root as
``python -m experiments.tableN.run``. Not installed by ``pip install``."""

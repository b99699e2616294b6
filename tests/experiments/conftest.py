"""Shared by the entry-point tests."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def loaded_run_line(module: str, run_dir, flag: str, num_samples: int) -> str:
    """Restores ``run_dir`` with ``age_tf.experiments.<module>.load_run`` in a fresh process (FLAGS are
    global) and returns its line 'finished epochs, FLAGS.<flag>, shape of num_samples generations'."""
    code = (f"import numpy as np; from age_tf.experiments import {module} as entry; "
            f"model, epoch = entry.load_run({str(run_dir)!r}); "
            f"print(epoch, entry.FLAGS.{flag}, np.asarray(model.generate({num_samples})).shape)")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    return loaded.stdout.splitlines()[-1]

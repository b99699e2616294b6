"""Imports the authors' PyTorch code (a checkout of github.com/xwshen51/AGE) on a machine without a GPU.

Their modules are used unmodified. Two things stand in their way on a CPU, and both are
worked around here, at run time: ``train.py`` and ``bgm.py`` import torchvision only for
datasets, pretrained models and ``save_image``, none of which the AGE step uses, so a stand-in
torchvision module is installed when the real one is missing; and ``train.main`` asks for
``torch.device('cuda')``, so callers set ``train.device`` themselves and call ``train_age``.
Neither torch nor their code is a dependency of this project, and none of it is committed.

    train, bgm = authors_code.load(AUTHORS_DIR, ["--dataset", "mog", "--batch_size", "500", ...])
    train.device = torch.device("cpu")
"""

from __future__ import annotations

import importlib
import os
import sys
import types


def stand_in_torchvision():
    """Installs an empty ``torchvision`` (datasets, transforms, models, utils.save_image as a
    no-op) unless the real one can be imported."""
    try:
        importlib.import_module("torchvision")
        return
    except ImportError:
        pass
    vision = types.ModuleType("torchvision")
    for name in ("datasets", "transforms", "models", "utils"):
        setattr(vision, name, types.ModuleType(name))
        sys.modules[f"torchvision.{name}"] = getattr(vision, name)
    vision.utils.save_image = lambda *args, **kwargs: None
    sys.modules["torchvision"] = vision


def load(authors_dir: str, argv):
    """(their ``train`` module with ``train.args`` parsed from ``argv`` by their
    ``config.get_config``, their ``bgm`` module). ``authors_dir`` must hold their train.py."""
    if not os.path.isfile(os.path.join(authors_dir, "train.py")):
        raise FileNotFoundError(f"{authors_dir} has no train.py: give a checkout of github.com/xwshen51/AGE.")
    stand_in_torchvision()
    sys.path.insert(0, os.path.abspath(authors_dir))
    saved_argv = sys.argv
    sys.argv = ["train.py", *argv]
    try:
        import bgm
        import config
        import train
        train.args = config.get_config()
    finally:
        sys.argv = saved_argv
    return train, bgm

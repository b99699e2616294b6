"""age_tf: bidirectional generative modelling by adversarial gradient estimation.

Version ranges live here; the exact versions CI tests are pinned in
``constraints.txt`` (install with ``pip install -c constraints.txt -e .[test]``).
"""
from setuptools import find_packages, setup

setup(
    name="age_tf",
    version="0.1.0",
    description=(
        "Bidirectional generative models trained by adversarial gradient "
        "estimation (Shen, Zhang and Chen), in TensorFlow 2 / Keras 3."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["age_tf", "age_tf.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "keras>=3.3,<4",
        "tensorflow-probability>=0.24,<0.26",
        "tf-keras>=2.16,<2.22",
        "tensorboard>=2.16,<2.22",
        "tensorflow-datasets>=4.9,<5",
        "importlib_resources>=6",
        "absl-py>=2.0",
        "matplotlib>=3.7",
        "numpy>=1.26",
        "scipy>=1.11",  # the Frechet distance (age_tf.metrics.frechet)
    ],
    # prdc: Naeem et al.'s reference precision/recall/density/coverage, checked against in tests only.
    # pytest-xdist: the fast tier runs in two processes (`pytest -n 2`), 1.8x faster on 2 cores.
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3", "prdc>=0.2"]},
)

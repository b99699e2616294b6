"""What an entry point shows its user: the paper's row names."""

from age_tf.experiments import cli


def test_run_labels_are_the_papers_row_names():
    assert cli.run_label("age", "hellinger") == "AGE-H2"
    assert cli.run_label("age", "revkl") == "AGE-RevKL"
    assert cli.run_label("age", "kl", 0.5) == "AGE-KL-SC0.5"
    assert cli.run_label("age", "all", deterministic=True) == "AGE-ALL(d)"
    assert cli.run_label("gan", "kl") == "GAN (JS)"
    assert cli.run_label("vae", "kl") == "VAE"

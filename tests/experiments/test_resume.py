"""Which flags a resumed run may change: declared where each flag is defined."""

from absl import flags

from age_tf.experiments import resume, run_flags


def test_changed_on_resume_lists_training_settings_only():
    saved = ["--divergence=revkl", "--imbalanced", "--epochs=30", "--d_learning_rate=0.0001",
             "--notensorboard", "--seed=3"]
    current = {"divergence": "--divergence=kl", "imbalanced": "--noimbalanced", "epochs": "--epochs=45",
               "d_learning_rate": "--d_learning_rate=0.0001", "tensorboard": "--tensorboard",
               "seed": "--seed=3", "dense_init": "--dense_init=glorot"}
    # --epochs and --tensorboard may change; --dense_init is not in the saved file (a flag added later).
    assert resume.changed_on_resume(saved, current, free={"epochs", "tensorboard"}) == [
        ("--divergence=revkl", "--divergence=kl"), ("--imbalanced", "--noimbalanced")]
    assert resume.changed_on_resume(saved, {"divergence": "--divergence=revkl", "seed": "--seed=3"}, free=set()) == []


def test_a_flag_declared_free_on_resume_says_so_and_others_do_not():
    values = flags.FlagValues()
    free = flags.DEFINE_integer("probe_epochs", 3, "Epochs.", flag_values=values)
    values[free.name].free_on_resume = True  # what run_flags.free_on_resume does to FLAGS
    flags.DEFINE_string("probe_divergence", "kl", "Divergence.", flag_values=values)
    assert run_flags.is_free_on_resume(values["probe_epochs"])
    assert not run_flags.is_free_on_resume(values["probe_divergence"])

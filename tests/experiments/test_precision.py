"""--precision=auto: mixed_bfloat16 on AMX CPUs without a GPU, float32 elsewhere, a resumed run's own."""

import types

import pytest

from age_tf.experiments import hardware, precision


def test_the_vae_keeps_float32():
    assert precision.choose(True, False, None, False, adversarial=False) == (
        "float32", "the VAE does not train in bfloat16")


@pytest.mark.parametrize("has_amx, has_gpu, resumed, jit, expected", [
    (True, False, None, False, "mixed_bfloat16"),
    (False, False, None, False, "float32"),        # AVX2-only CPU: bfloat16 is emulated
    (True, True, None, False, "float32"),          # a GPU: bfloat16 untested there
    (True, False, None, True, "float32"),          # XLA asked for: slower in bfloat16 on a CPU
    (False, False, "mixed_bfloat16", False, "mixed_bfloat16"),  # resumed without AMX: keeps its own
    (True, False, "float32", False, "float32"),
    (True, False, "auto", False, "mixed_bfloat16"),  # never written, but not trusted either
])
def test_choose(has_amx, has_gpu, resumed, jit, expected):
    chosen, reason = precision.choose(has_amx, has_gpu, resumed, jit)
    assert chosen == expected and reason


def test_has_amx_bf16_reads_the_cpu_flags(tmp_path):
    amx = tmp_path / "amx"
    amx.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile amx_int8\n")
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\nbugs\t\t: amx_bf16_is_not_a_flag_here\n")
    assert hardware.has_amx_bf16(str(amx))
    assert not hardware.has_amx_bf16(str(avx2))
    assert not hardware.has_amx_bf16(str(tmp_path / "missing"))


def _flags(output_dir, value="auto", resume=True):
    return types.SimpleNamespace(precision=value, output_dir=str(output_dir), resume=resume, method="age",
                                 jit_compile=False)


def _resumable_run(directory, precision_line):
    (directory / "checkpoint").mkdir(parents=True)
    (directory / "checkpoint" / "ckpt-3.index").write_bytes(b"")
    (directory / "flags.txt").write_text(f"# Resolved flags\n--seed=0\n{precision_line}\n")


@pytest.mark.parametrize("amx", [True, False])
def test_resolve_follows_the_machine_for_a_new_run(tmp_path, monkeypatch, amx):
    monkeypatch.setattr(hardware, "has_amx_bf16", lambda: amx)
    monkeypatch.setattr(hardware, "gpus", lambda: [])
    said = []
    values = _flags(tmp_path / "new")
    precision.resolve(values, log=said.append)
    assert values.precision == ("mixed_bfloat16" if amx else "float32")
    assert said == [f"--precision=auto: training in {values.precision} ({precision.choose(amx, False)[1]}); "
                    "pass --precision=float32, mixed_bfloat16 or mixed_float16 to choose."]


def test_resolve_keeps_the_resumed_runs_precision(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "has_amx_bf16", lambda: False)
    _resumable_run(tmp_path, "--precision=mixed_bfloat16")
    values = _flags(tmp_path)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "mixed_bfloat16"
    # --noresume starts over, so the machine decides again.
    values = _flags(tmp_path, resume=False)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "float32"


def test_resolve_leaves_a_chosen_precision_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "has_amx_bf16", lambda: True)
    _resumable_run(tmp_path, "--precision=mixed_bfloat16")
    said = []
    values = _flags(tmp_path, value="float32")
    precision.resolve(values, log=said.append)
    assert values.precision == "float32" and said == []  # a changed precision is refused later, by the resume check


def test_a_run_from_before_auto_resumes_in_float32(tmp_path, monkeypatch):
    """Its flags.txt names no --precision: float32 was the default then, on any machine."""
    monkeypatch.setattr(hardware, "has_amx_bf16", lambda: True)
    monkeypatch.setattr(hardware, "gpus", lambda: [])
    _resumable_run(tmp_path, "--epochs=3")
    values = _flags(tmp_path)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "float32"


def test_a_mid_epoch_checkpoint_alone_counts_as_a_run_to_resume(tmp_path, monkeypatch):
    from age_tf import checkpointing

    monkeypatch.setattr(hardware, "has_amx_bf16", lambda: False)
    (tmp_path / "checkpoint" / "steps").mkdir(parents=True)
    (tmp_path / "checkpoint" / "steps" / "ckpt-300.index").write_bytes(b"")
    (tmp_path / "flags.txt").write_text("--precision=mixed_bfloat16\n")
    assert checkpointing.has_checkpoint(str(tmp_path / "checkpoint"))
    values = _flags(tmp_path)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "mixed_bfloat16"


def test_an_unknown_method_is_not_called_the_vae():
    assert precision.choose(True, False, None, False, adversarial=None) == (
        "float32", "until --method names a known method")

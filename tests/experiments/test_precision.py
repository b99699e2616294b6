"""--precision=auto: mixed_bfloat16 on CPUs with bfloat16 units (AMX, AVX-512 BF16) and no GPU, float32
elsewhere, a resumed run's own."""

import types

import pytest

from age_tf.experiments import hardware, precision


def test_the_vae_keeps_float32():
    assert precision.choose("amx_bf16", False, None, False, adversarial=False) == (
        "float32", "the VAE does not train in bfloat16")


@pytest.mark.parametrize("units, has_gpu, resumed, jit, expected", [
    ("amx_bf16", False, None, False, "mixed_bfloat16"),
    ("avx512_bf16", False, None, False, "mixed_bfloat16"),  # AMD Zen 4: 1.6x faster, same KL
    (None, False, None, False, "float32"),                  # AVX2-only CPU: bfloat16 is emulated
    ("amx_bf16", True, None, False, "float32"),             # a GPU: bfloat16 untested there
    ("amx_bf16", False, None, True, "float32"),             # XLA asked for: slower in bfloat16 on a CPU
    ("avx512_bf16", False, None, True, "float32"),
    (None, False, "mixed_bfloat16", False, "mixed_bfloat16"),  # resumed without bfloat16 units: keeps its own
    ("amx_bf16", False, "float32", False, "float32"),
    ("amx_bf16", False, "auto", False, "mixed_bfloat16"),  # never written, but not trusted either
])
def test_choose(units, has_gpu, resumed, jit, expected):
    chosen, reason = precision.choose(units, has_gpu, resumed, jit)
    assert chosen == expected and reason
    if units and expected == "mixed_bfloat16" and not resumed:
        assert reason == precision.BF16_EVIDENCE[units]


def test_bf16_units_reads_the_cpu_flags(tmp_path):
    amx = tmp_path / "amx"  # Sapphire Rapids lists both; AMX is the faster
    amx.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n")
    zen4 = tmp_path / "zen4"
    zen4.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n")
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\nbugs\t\t: amx_bf16_is_not_a_flag_here\n")
    assert hardware.bf16_units(str(amx)) == "amx_bf16" and hardware.has_amx_bf16(str(amx))
    assert hardware.bf16_units(str(zen4)) == "avx512_bf16" and not hardware.has_amx_bf16(str(zen4))
    assert hardware.bf16_units(str(avx2)) is None and not hardware.has_amx_bf16(str(avx2))
    assert hardware.bf16_units(str(tmp_path / "missing")) is None


def _flags(output_dir, value="auto", resume=True):
    return types.SimpleNamespace(precision=value, output_dir=str(output_dir), resume=resume, method="age",
                                 jit_compile=False)


def _resumable_run(directory, precision_line):
    (directory / "checkpoint").mkdir(parents=True)
    (directory / "checkpoint" / "ckpt-3.index").write_bytes(b"")
    (directory / "flags.txt").write_text(f"# Resolved flags\n--seed=0\n{precision_line}\n")


@pytest.mark.parametrize("units", ["amx_bf16", "avx512_bf16", None])
def test_resolve_follows_the_machine_for_a_new_run(tmp_path, monkeypatch, units):
    monkeypatch.setattr(hardware, "bf16_units", lambda: units)
    monkeypatch.setattr(hardware, "gpus", lambda: [])
    said = []
    values = _flags(tmp_path / "new")
    precision.resolve(values, log=said.append)
    assert values.precision == ("mixed_bfloat16" if units else "float32")
    assert said == [f"--precision=auto: training in {values.precision} ({precision.choose(units, False)[1]}); "
                    "pass --precision=float32, mixed_bfloat16 or mixed_float16 to choose."]


def test_resolve_keeps_the_resumed_runs_precision(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "bf16_units", lambda: None)
    _resumable_run(tmp_path, "--precision=mixed_bfloat16")
    values = _flags(tmp_path)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "mixed_bfloat16"
    # --noresume starts over, so the machine decides again.
    values = _flags(tmp_path, resume=False)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "float32"


def test_resolve_leaves_a_chosen_precision_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "bf16_units", lambda: "amx_bf16")
    _resumable_run(tmp_path, "--precision=mixed_bfloat16")
    said = []
    values = _flags(tmp_path, value="float32")
    precision.resolve(values, log=said.append)
    assert values.precision == "float32" and said == []  # a changed precision is refused later, by the resume check


def test_a_run_from_before_auto_resumes_in_float32(tmp_path, monkeypatch):
    """Its flags.txt names no --precision: float32 was the default then, on any machine."""
    monkeypatch.setattr(hardware, "bf16_units", lambda: "amx_bf16")
    monkeypatch.setattr(hardware, "gpus", lambda: [])
    _resumable_run(tmp_path, "--epochs=3")
    values = _flags(tmp_path)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "float32"


def test_a_mid_epoch_checkpoint_alone_counts_as_a_run_to_resume(tmp_path, monkeypatch):
    from age_tf import checkpointing

    monkeypatch.setattr(hardware, "bf16_units", lambda: None)
    (tmp_path / "checkpoint" / "steps").mkdir(parents=True)
    (tmp_path / "checkpoint" / "steps" / "ckpt-300.index").write_bytes(b"")
    (tmp_path / "flags.txt").write_text("--precision=mixed_bfloat16\n")
    assert checkpointing.has_checkpoint(str(tmp_path / "checkpoint"))
    values = _flags(tmp_path)
    precision.resolve(values, log=lambda line: None)
    assert values.precision == "mixed_bfloat16"


def test_an_unknown_method_is_not_called_the_vae():
    assert precision.choose("amx_bf16", False, None, False, adversarial=None) == (
        "float32", "until --method names a known method")

"""benchmarks/speed.py on its smallest run: the report's numbers agree with each other.

Not a timing test (the brief keeps speed targets out of unit tests): it checks that the harness
runs and that what it reports is arithmetic on what it measured.
"""

import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow  # starts processes
def test_speed_harness_reports_consistent_numbers(tmp_path):
    output = tmp_path / "speed.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/speed.py", "--configs=mog25", "--precisions=float32", "--jit=off",
         "--iterations=2", "--warmup=1", "--no_eval", f"--output={output}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["command"].startswith("python benchmarks/speed.py --configs=mog25")
    assert report["date"].endswith("+00:00")  # when it ran, UTC
    by_kind = {r["kind"]: r for r in report["results"]}
    assert set(by_kind) == {"ceiling", "train"}, report["results"]
    ceiling, train = by_kind["ceiling"], by_kind["train"]
    assert ceiling["precision"] == "float32" and ceiling["gflops"] > 0
    assert (train["config"], train["iterations"], train["jit"]) == ("mog25", 2, False)
    assert train["min_s"] <= train["median_s"] <= train["max_s"]
    # One iteration: 5 D steps on 500 + 500 pairs and one E/G step (Algorithm 1), batch 500.
    assert math.isclose(train["examples_per_s"], 500 * 6 / train["median_s"], rel_tol=1e-6)
    assert math.isclose(train["gflops"], train["gflop"] / train["median_s"], rel_tol=1e-6)
    assert train["onednn"] == ceiling["onednn"]  # the share is taken against the same kernels
    assert "mog25" in result.stdout and str(output) in result.stdout


def _load_benchmark(name):
    """benchmarks/<name>.py as a module (benchmarks/ is scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_peer_table_divides_their_seconds_by_ours():
    speed = _load_benchmark("speed")
    results = [
        {"kind": "train", "config": "mog25", "precision": "float32", "jit": False, "median_s": 0.100},
        {"kind": "train", "config": "mog25", "precision": "mixed_bfloat16", "jit": False, "median_s": 0.040},
        {"kind": "train", "config": "mog25", "precision": "float32", "jit": True, "median_s": 9.0},  # not compared
        {"kind": "authors", "config": "mog25", "median_s": 0.125, "torch": "2.13.0+cpu"},
    ]
    table = speed.peer_table(results)
    assert table.splitlines()[-1] == "| mog25 | 0.100 | 0.040 | 0.125 | **1.25x** | **3.12x** |"
    assert "torch 2.13.0+cpu" in table.splitlines()[0]


def test_with_rounds_the_peer_table_gives_the_median_of_each_rounds_ratio():
    speed = _load_benchmark("speed")
    ours = {1: 0.100, 2: 0.200, 3: 0.100}
    theirs = {1: 0.150, 2: 0.200, 3: 0.120}  # ratios 1.5, 1.0, 1.2: median 1.2, not 0.150 / 0.100
    results = [{"kind": "train", "config": "stacked_mnist", "precision": "float32", "jit": False,
                "median_s": s, "round": k, "rounds": 3} for k, s in ours.items()]
    results += [{"kind": "authors", "config": "stacked_mnist", "median_s": s, "round": k, "rounds": 3,
                 "torch": "2.13.0+cpu"} for k, s in theirs.items()]
    row = speed.peer_table(results).splitlines()[-1]
    assert row == "| stacked_mnist | 0.100 | - | 0.150 | **1.20x** (1.00-1.50, 3 rounds) | - |"
    assert speed._label(results[1]) == "stacked_mnist (round 2)"


@pytest.mark.slow  # starts processes
@pytest.mark.skipif(not os.environ.get("AGE_TF_AUTHORS_DIR"), reason="needs $AGE_TF_AUTHORS_DIR and torch")
def test_the_authors_iteration_is_timed_beside_ours(tmp_path):
    output = tmp_path / "speed.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/speed.py", "--configs=mog25", "--precisions=float32", "--jit=off",
         "--iterations=2", "--warmup=1", "--no_eval", f"--output={output}",
         f"--authors_dir={os.environ['AGE_TF_AUTHORS_DIR']}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    peer = [r for r in json.loads(output.read_text())["results"] if r["kind"] == "authors"]
    assert len(peer) == 1 and peer[0]["config"] == "mog25" and peer[0]["min_s"] <= peer[0]["median_s"]
    assert "authors / ours float32" in result.stdout


def test_the_matmul_table_divides_tensorflow_by_torch():
    shapes = _load_benchmark("matmul_shapes")
    names = [name for name, *_ in shapes.SHAPES]
    tf_one = {name: 0.004 for name in names}
    tf_two = {name: 0.003 for name in names}
    torch_ = {name: 0.001 for name in names}
    lines = shapes.table({"bfloat16": (tf_one, tf_two, torch_), "float32": (tf_one, tf_two, None)}).splitlines()
    assert len(lines) == 2 + 2 * len(names)
    first = lines[2]
    assert first.startswith(f"| {names[0]} (1000 x 400 x 400; 0.32 GFLOP) | bfloat16 | 4.000 | 3.000 | 1.000 | 3.00x |")
    assert lines[-1].endswith("| float32 | 4.000 | 3.000 | not installed | - |")


def test_the_kernel_table_sums_onednn_records_per_kernel_and_iteration():
    variants = _load_benchmark("step_variants")
    amx = ("onednn_verbose,v1,primitive,exec,cpu,matmul,brg_matmul:avx10_1_512_amx,undef,"
           "src:bf16::blocked:ba::f0 wei:bf16::blocked:ab::f0 dst:bf16::blocked:ab::f0,attr-scratchpad:user,,"
           "400x1000:1000x400,{}")
    fused = ("onednn_verbose,v1,primitive,exec,cpu,inner_product,x64:gemm:jit,forward_inference,"
             "src:bf16::blocked:ab::f0 wei:bf16::blocked:ba::f0 bia:bf16::a::f0 dst:bf16::blocked:ab::f0,"
             "attr-scratchpad:user attr-post-ops:eltwise_relu:0.2,,mb1000ic400oc400,{}")
    norm = ("onednn_verbose,v1,primitive,exec,cpu,batch_normalization,bnorm_tbb_jit:sse41,forward_training,"
            "data:f32::blocked:acdb::f0,,flags:CH,mb500ic500ih1iw1,{}")
    lines = [amx.format(0.5), amx.format(0.7), fused.format(1.2), norm.format(0.1),
             "onednn_verbose,v1,primitive,create:cache_miss,cpu,matmul,brg_matmul,undef,,,,1x1:1x1,9.0",
             "mog25 ...: median 0.06 s an iteration"]
    table = variants.kernel_table(lines, iterations=2).splitlines()
    assert table[2] == ("| matmul | brg_matmul:avx10_1_512_amx | src ba, wei ab | - | 400x1000:1000x400 | "
                        "0.60 | 1 | 600 |")
    assert table[3] == ("| inner_product | x64:gemm:jit | src ab, wei ba | eltwise_relu:0.2 | mb1000ic400oc400 | "
                        "0.60 | 0.5 | 1200 |")
    assert table[4].startswith("| batch_normalization forward_training | bnorm_tbb_jit:sse41 | data acdb | - |")
    assert table[-1] == "| all 3 kinds | | | | | 1.25 | 2 | |"


@pytest.mark.parametrize("args, message", [
    (["--jit=yes"], "--jit must be off, on or off,on; got 'yes'"),
    (["--output=/nonexistent/folder/speed.json"], "the folder /nonexistent/folder does not exist"),
    (["--output=/tmp"], "--output /tmp is a folder"),
], ids=["unknown jit", "missing output folder", "output a folder"])
def test_bad_arguments_are_refused_before_any_measurement(args, message):
    """Issue 50: --jit=yes ran as off, and --output was checked only after the measurements."""
    result = subprocess.run([sys.executable, "benchmarks/speed.py", "--configs=mog25", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert "done " not in result.stderr  # nothing was measured

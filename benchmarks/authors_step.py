"""The authors' PyTorch AGE iteration, timed as ``speed.py`` times ours: the peer in the same run.

    python benchmarks/authors_step.py --authors_dir=AUTHORS_DIR --config=mog25 [--iterations=15]

AUTHORS_DIR is a checkout of github.com/xwshen51/AGE; torch must be installed (``pip install
torch==2.13.0`` takes a CPU build). Neither is a dependency of age_tf. Their ``train_age`` runs
unmodified on the CPU (``experiments/authors_code.py``), over one fixed batch in memory, with the
networks of the config that ``speed.py`` times for us:

- ``mog25``: their ``ToyAE`` (deterministic encoder and generator, 500 hidden units) and
  ``DiscriminatorMLP`` (400), batch 500, 5 D steps, KL;
- ``mog9``: the same with Gaussian encoder and generator, batch 800, 30 D steps (their
  ``run_mog_age_kl.sh``);
- ``stacked_mnist``: their ``DCAE`` (Gaussian encoder, implicit generator, latent 8) and
  ``DCJointDiscriminator`` with a joint layer of 1,024 (Table 10, as ours; their script passes
  256), batch 64, 1 D step, AGE-ALL.

One iteration is ``d_steps`` D updates and one E/G update, as ours; theirs feeds one minibatch to
every update of an iteration where ours draws a fresh one for each (BUILD_NOTES, Deviations): the
same arithmetic. Prints one JSON line, as ``speed.py``'s workers do.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Their config.py flags for each of speed.py's configs.
CONFIGS = {
    "mog25": "--dataset mog --batch_size 500 --d_steps_per_iter 5 --latent_dim 2 --enc_dist deterministic "
             "--dec_dist deterministic --div kl --mog_imbalance --mog_base 5",
    "mog9": "--dataset mog --batch_size 800 --d_steps_per_iter 30 --latent_dim 2 --enc_dist gaussian "
            "--dec_dist gaussian --div kl --mog_imbalance --mog_base 3",
    "stacked_mnist": "--dataset mnist_stack --image_size 28 --batch_size 64 --d_steps_per_iter 1 --latent_dim 8 "
                     "--lr 1e-4 --dis_fc_size 1024 --enc_dist gaussian --dec_dist implicit --div all",
}


def build(train, bgm, config):
    """Their networks and optimizers for ``config``, as their ``train.main`` builds them."""
    import torch
    from torch import nn, optim

    args = train.args
    if config == "stacked_mnist":
        model = bgm.DCAE(args.latent_dim, 64, args.image_size, 3, args.enc_dist, args.dec_dist, False)
        discriminator = bgm.DCJointDiscriminator(args.latent_dim, 64, args.image_size, 3, args.dis_fc_size)
        x = torch.rand(args.batch_size, 3, args.image_size, args.image_size) * 2 - 1
    else:
        model = bgm.ToyAE(data_dim=2, latent_dim=args.latent_dim, enc_hidden_dim=500, dec_hidden_dim=500,
                          enc_dist=args.enc_dist, dec_dist=args.dec_dist)
        discriminator = bgm.DiscriminatorMLP(data_dim=2, latent_dim=args.latent_dim, hidden_dim_x=400,
                                             hidden_dim_z=400, hidden_dim=400)
        x = torch.randn(args.batch_size, 2) * 2
    adam = lambda params, lr: optim.Adam(params, lr=lr, betas=(args.beta1, args.beta2))  # noqa: E731
    optimizers = (adam(model.encoder.parameters(), args.lr), adam(model.decoder.parameters(), args.lr),
                  adam(discriminator.parameters(), args.lr_d))
    return nn.DataParallel(model), nn.DataParallel(discriminator), optimizers, x


class TimedBatches:
    """``count`` copies of one batch, noting the time each iteration starts."""

    def __init__(self, x, count):
        self.x, self.count, self.starts = x, count, []
        self.dataset = range(count * len(x))

    def __len__(self):
        return self.count

    def __iter__(self):
        for _ in range(self.count):
            self.starts.append(time.perf_counter())
            yield (self.x,)


def time_iterations(authors_dir, config, iterations, warmup, threads=0):
    """Seconds of each of ``iterations`` iterations of their ``train_age`` after ``warmup``."""
    import torch

    sys.path.insert(0, ROOT)
    from experiments import authors_code

    if threads:
        torch.set_num_threads(threads)
    never = str(10 ** 9)
    train, bgm = authors_code.load(authors_dir, [*CONFIGS[config].split(), "--print_every", never,
                                                 "--sample_every", never])
    train.device = torch.device("cpu")
    train.log_file = io.StringIO()
    train.num_iter_per_epoch = warmup + iterations
    torch.manual_seed(0)
    model, discriminator, (e_opt, g_opt, d_opt), x = build(train, bgm, config)
    batches = TimedBatches(x, warmup + iterations)
    stdout = sys.stdout
    sys.stdout = io.StringIO()  # their first iteration prints its losses
    try:
        train.train_age(1, model, discriminator, e_opt, g_opt, d_opt, batches, 10 ** 9, "", 10 ** 9)
    finally:
        sys.stdout = stdout
    ends = batches.starts[1:] + [time.perf_counter()]
    return [end - start for start, end in zip(batches.starts, ends)][warmup:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authors_dir", required=True)
    parser.add_argument("--config", choices=sorted(CONFIGS), required=True)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    import torch

    times = time_iterations(args.authors_dir, args.config, args.iterations, args.warmup, args.threads)
    print(json.dumps({
        "kind": "authors", "config": args.config, "precision": "float32", "iterations": args.iterations,
        "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The authors' PyTorch AGE-ALL on this project's Stacked MNIST draw (BUILD_NOTES.md, Stacked MNIST).

A baseline for the reconstruction accuracy of experiments/table5/stacked_mnist_age_all_cpu.flags: runs the
unmodified ``train_age`` of github.com/xwshen51/AGE (train.py, bgm.py; its run_stack_mnist_age_all.sh
settings: batch 64, latent 8, Adam 1e-4 with beta_1 = 0, D joint FC 256, implicit generator, Gaussian
encoder, div all) on the training images of age_tf.data.mnist.stacked_mnist(seed=0), and at the
iterations in SNAPSHOTS writes the reconstructions (inference-mode batch norm, as the authors' test())
of the first 2,000 evaluation images and 5,000 samples as uint8 for
experiments/table5/score_stacked_mnist_arrays.py to score with this project's mode classifier. Not a test and
not imported by the package: the authors' code needs PyTorch and is not part of this repository.

    # here (TensorFlow environment): the data, compressed (about 12 MB)
    python experiments/table5/authors_stacked_mnist.py prepare logs/authors_age/data.npz
    # where PyTorch is (e.g. a GPU machine), AUTHORS_DIR a checkout of xwshen51/AGE
    python experiments/table5/authors_stacked_mnist.py train AUTHORS_DIR logs/authors_age/data.npz OUT_DIR \\
        [--seed=0] [--device=cuda] [--snapshots=2500,5000,10000] [--max_seconds=540]
    # here again, for each snapshot
    python experiments/table5/score_stacked_mnist_arrays.py OUT_DIR/it5000.npz
"""
import argparse
import os
import sys
import time

import numpy as np

# Run as a file (the commands recorded with its results): the repository root holds ``experiments``.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def prepare(path):
    from age_tf.data import mnist
    train = mnist.load_mnist(os.path.join("..", "shared", "data", "mnist"), "train")
    index = mnist.stack_indices(len(train.labels), mnist.NUM_TRAIN, seed=0).astype(np.int32)
    data = mnist.stacked_mnist(os.path.join("..", "shared", "data", "mnist"), seed=0)
    assert (np.stack([train.images[index[:, c]] for c in range(3)], -1) == data.train_images).all()
    np.savez_compressed(path, digits=train.images, index=index, eval=data.eval_images[:2000])


def train(args):
    import torch

    from experiments import authors_code

    device = torch.device(args.device)
    authors, bgm = authors_code.load(args.authors_dir, (
        "--batch_size 64 --image_size 28 --dataset mnist_stack --latent_dim 8 --lr 1e-4 --dis_fc_size 256 "
        f"--dec_dist implicit --div all --print_every 500 --sample_every 100000000 --seed {args.seed}").split())
    authors.device = device
    authors.num_iter_per_epoch = 2000
    os.makedirs(args.out_dir, exist_ok=True)
    authors.log_file = open(os.path.join(args.out_dir, "log.txt"), "wt")
    torch.manual_seed(args.seed)
    authors.fixed_noise = torch.randn(64, 8, device=device)

    data = np.load(args.data)
    digits = torch.from_numpy(data["digits"]).to(device)
    index = torch.from_numpy(data["index"].astype(np.int64)).to(device)
    evaluation = torch.from_numpy(data["eval"]).to(device)
    to_unit = lambda u8: (u8.float() / 255.0 - 0.5) / 0.5  # noqa: E731  (their utils.py scaling)

    def images(rows):  # [n, 3, 28, 28] in [-1, 1], channels = three MNIST digits
        return to_unit(digits[index[rows]])

    class Batches:
        """``count`` shuffled minibatches of 64, reshuffled every 2,000 (one epoch of theirs)."""
        def __init__(self, count):
            self.count, self.dataset = count, range(len(index))
        def __len__(self):
            return self.count
        def __iter__(self):
            for i in range(self.count):
                if i % 2000 == 0:
                    order = torch.randperm(len(index), device=device)
                yield (images(order[(i % 2000) * 64:(i % 2000 + 1) * 64]),)

    model = bgm.DCAE(8, 64, 28, 3, "gaussian", "implicit", False).to(device)
    disc = bgm.DCJointDiscriminator(8, 64, 28, 3, 256).to(device)
    adam = lambda params: torch.optim.Adam(params, lr=1e-4, betas=(0.0, 0.999))  # noqa: E731
    optimizers = adam(model.encoder.parameters()), adam(model.decoder.parameters()), adam(disc.parameters())
    to_u8 = lambda t: ((t.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()  # noqa: E731
    snapshots = {int(s) for s in args.snapshots.split(",")}
    done, start, segment = 0, time.time(), args.segment
    # Each network with Adam's second moments, so that a run can go on in a later call. Adam's first
    # moment is not kept: with beta_1 = 0 it is overwritten by the next gradient. The discriminator's
    # weights and moments go to two files (each file must stay under 16 MB to come back from a device).
    nets = {"encoder": (model.encoder, optimizers[0]), "decoder": (model.decoder, optimizers[1]),
            "discriminator": (disc, optimizers[2])}

    def save_state():
        for name, (net, opt) in nets.items():
            params = list(net.parameters())
            moments = {"v": [opt.state[q]["exp_avg_sq"] for q in params],
                       "step": float(opt.state[params[0]]["step"]), "done": done}
            if name == "discriminator":
                torch.save(net.state_dict(), os.path.join(args.out_dir, f"state_{name}_net.pt"))
                torch.save(moments, os.path.join(args.out_dir, f"state_{name}_adam.pt"))
            else:
                torch.save({"net": net.state_dict(), **moments}, os.path.join(args.out_dir, f"state_{name}.pt"))

    def load_state(directory):
        for name, (net, opt) in nets.items():
            if name == "discriminator":
                weights = torch.load(os.path.join(directory, f"state_{name}_net.pt"), map_location=device)
                moments = torch.load(os.path.join(directory, f"state_{name}_adam.pt"), map_location=device)
            else:
                moments = torch.load(os.path.join(directory, f"state_{name}.pt"), map_location=device)
                weights = moments["net"]
            net.load_state_dict(weights)
            for q, v in zip(net.parameters(), moments["v"]):
                opt.state[q] = {"step": torch.tensor(moments["step"]), "exp_avg": torch.zeros_like(q),
                                "exp_avg_sq": v}
        return moments["done"]

    if args.resume_dir:
        done = load_state(args.resume_dir)
        torch.manual_seed(args.seed * 1_000_003 + done)
        print(f"resumed after iteration {done}", flush=True)
    while done < max(snapshots):
        began = time.time()
        authors.train_age(1 + done // 2000, model, disc, *optimizers, Batches(segment), 500,
                          args.out_dir, 100000000)
        done += segment
        if done in snapshots:
            model.eval()
            with torch.no_grad():
                recon = to_u8(model(to_unit(evaluation).permute(0, 3, 1, 2).contiguous(), recon=True))
                samples = np.concatenate([to_u8(model(z=torch.randn(1000, 8, device=device)))
                                          for _ in range(5)])
            model.train()
            np.savez_compressed(os.path.join(args.out_dir, f"it{done}.npz"), recon=recon, samples=samples)
        elapsed = time.time() - start
        print(f"iteration {done}: {elapsed:.0f} s", flush=True)
        if elapsed + 1.5 * (time.time() - began) > args.max_seconds:
            break
    save_state()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("path")
    t = sub.add_parser("train")
    t.add_argument("authors_dir")
    t.add_argument("data")
    t.add_argument("out_dir")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cuda")
    t.add_argument("--snapshots", default="2500,5000,10000,20000,40000,70000,100000")
    t.add_argument("--max_seconds", type=float, default=540)
    t.add_argument("--resume_dir", default="", help="a previous OUT_DIR whose state_*.pt to continue from")
    t.add_argument("--segment", type=int, default=2500, help="iterations between time checks; "
                   "snapshots must be multiples of it")
    args = parser.parse_args()
    prepare(args.path) if args.command == "prepare" else train(args)


if __name__ == "__main__":
    main()

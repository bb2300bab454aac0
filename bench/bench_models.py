"""Eager PyTorch definitions of the three side-by-side benchmark models.

Shared by export_bench_models.py (which scripts and saves them) and side_by_side.py (which
rebuilds the eager nn.Module and loads the scripted module's weights into it, so that the Python
tools and nni explain exactly the same function).
"""
from collections import OrderedDict

import torch.nn as nn

# name -> (input shape without the batch dimension, CAM layer as a dotted module name)
MODELS = OrderedDict([
    ("mnist_cnn", ((1, 28, 28), "relu2")),
    ("cifar_cnn", ((3, 32, 32), "features.20")),
    ("resnet18", ((3, 64, 64), "layer4")),
])


def mnist_cnn() -> nn.Module:
    """The MNIST CNN of models/mnist_cnn.h (no global average pooling: CAM does not apply)."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 10, 5)),
        ("pool1", nn.MaxPool2d(2)),
        ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(10, 20, 5)),
        ("pool2", nn.MaxPool2d(2)),
        ("relu2", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(320, 50)),
        ("relu3", nn.ReLU()),
        ("dropout", nn.Dropout(0.5)),
        ("fc2", nn.Linear(50, 10)),
    ]))


def cifar_cnn(classes: int = 10) -> nn.Module:
    """Mirror of models/cifar_cnn.h: conv(k3, pad 1, no bias) -> BN -> ReLU blocks, 'M' = max-pool.

    features.20 is the last ReLU ([N, 256, 4, 4] at 32x32), then global average pool + Linear.
    """
    layers, channels = [], 3
    for entry in (32, "M", 64, 64, "M", 128, 128, "M", 256):
        if entry == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        layers += [nn.Conv2d(channels, entry, 3, padding=1, bias=False), nn.BatchNorm2d(entry), nn.ReLU()]
        channels = entry
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(*layers)),
        ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("classifier", nn.Linear(channels, classes)),
    ]))


def resnet18() -> nn.Module:
    import torchvision
    return torchvision.models.resnet18(num_classes=10)


BUILDERS = {"mnist_cnn": mnist_cnn, "cifar_cnn": cifar_cnn, "resnet18": resnet18}


def build_eager(name: str) -> nn.Module:
    """A fresh eager module of the given architecture (weights to be loaded by the caller)."""
    return BUILDERS[name]()


def find_module(model: nn.Module, dotted: str) -> nn.Module:
    """The submodule with the dotted name, e.g. 'features.20'."""
    module = model
    for part in dotted.split("."):
        module = getattr(module, part) if not part.isdigit() else module[int(part)]
    return module

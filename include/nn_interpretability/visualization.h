#pragma once
// Umbrella header of the visualization target (nn_interpretability::visualization): turns raw
// attribution tensors into pictures. It depends on LibTorch tensors and OpenCV only, never on the
// attribution methods.

#include "nn_interpretability/visualization/channel_reduction.h"
#include "nn_interpretability/visualization/colormap.h"
#include "nn_interpretability/visualization/grid.h"
#include "nn_interpretability/visualization/image_io.h"
#include "nn_interpretability/visualization/input_product.h"
#include "nn_interpretability/visualization/normalize.h"
#include "nn_interpretability/visualization/outliers.h"
#include "nn_interpretability/visualization/overlay.h"
#include "nn_interpretability/visualization/postprocess.h"
#include "nn_interpretability/visualization/sign.h"
#include "nn_interpretability/visualization/superpixels.h"

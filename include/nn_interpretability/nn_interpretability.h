#pragma once
// Umbrella header: every attribution method of the core library.
// (TorchScript support: <nn_interpretability/torchscript.h>; pictures: <nn_interpretability/visualization.h>.)

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/blas.h"
#include "nn_interpretability/cam.h"
#include "nn_interpretability/deconvolution.h"
#include "nn_interpretability/grad_cam.h"
#include "nn_interpretability/grad_cam_plus_plus.h"
#include "nn_interpretability/guided_backprop.h"
#include "nn_interpretability/guided_grad_cam.h"
#include "nn_interpretability/input_x_gradient.h"
#include "nn_interpretability/integrated_gradients.h"
#include "nn_interpretability/layer_cam.h"
#include "nn_interpretability/model.h"
#include "nn_interpretability/saliency_map.h"
#include "nn_interpretability/score_cam.h"
#include "nn_interpretability/smooth_grad.h"
#include "nn_interpretability/target.h"
#include "nn_interpretability/upsample.h"
#include "nn_interpretability/vanilla_gradient.h"
#include "nn_interpretability/version.h"

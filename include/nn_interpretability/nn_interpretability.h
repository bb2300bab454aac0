#pragma once
// Umbrella header: the whole core library, family by family (docs/architecture.md).
// (TorchScript support: <nn_interpretability/model/torchscript.h>; pictures:
// <nn_interpretability/visualization.h>; datasets: <nn_interpretability/data.h>.)

#include "nn_interpretability/version.h"

// core: the method base, targets, threads, rows per call
#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/core/blas.h"
#include "nn_interpretability/core/rows_per_call.h"
#include "nn_interpretability/core/target.h"
#include "nn_interpretability/core/threads.h"

// model access
#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/model/model_backend.h"

// gradient family
#include "nn_interpretability/gradient/deconvolution.h"
#include "nn_interpretability/gradient/guided_backprop.h"
#include "nn_interpretability/gradient/input_x_gradient.h"
#include "nn_interpretability/gradient/gradient_shap.h"
#include "nn_interpretability/gradient/integrated_gradients.h"
#include "nn_interpretability/gradient/saliency_map.h"
#include "nn_interpretability/gradient/vanilla_gradient.h"

// Relevance: LRP with rules and composites, DeepLIFT, DeepLiftShap.
#include "nn_interpretability/relevance/composite.h"
#include "nn_interpretability/relevance/deep_lift.h"
#include "nn_interpretability/relevance/deep_lift_shap.h"
#include "nn_interpretability/relevance/lrp.h"
#include "nn_interpretability/relevance/rule.h"

// wrappers over any method
#include "nn_interpretability/wrappers/smooth_grad.h"

// CAM family
#include "nn_interpretability/cam/ablation_cam.h"
#include "nn_interpretability/cam/cam.h"
#include "nn_interpretability/cam/cam_method.h"
#include "nn_interpretability/cam/eigen_cam.h"
#include "nn_interpretability/cam/eigen_grad_cam.h"
#include "nn_interpretability/cam/grad_cam.h"
#include "nn_interpretability/cam/grad_cam_elementwise.h"
#include "nn_interpretability/cam/grad_cam_plus_plus.h"
#include "nn_interpretability/cam/guided_grad_cam.h"
#include "nn_interpretability/cam/hires_cam.h"
#include "nn_interpretability/cam/layer_cam.h"
#include "nn_interpretability/cam/layer_reshape.h"
#include "nn_interpretability/cam/score_cam.h"
#include "nn_interpretability/cam/upsample.h"
#include "nn_interpretability/cam/xgrad_cam.h"
#include "nn_interpretability/cam/full_grad.h"
#include "nn_interpretability/attention/attention_rollout.h"
#include "nn_interpretability/attention/gradient_attention_rollout.h"

// perturbation family
#include "nn_interpretability/perturbation/baseline.h"
#include "nn_interpretability/perturbation/feature_ablation.h"
#include "nn_interpretability/perturbation/feature_mask.h"
#include "nn_interpretability/perturbation/feature_permutation.h"
#include "nn_interpretability/perturbation/kernel_shap.h"
#include "nn_interpretability/perturbation/lime.h"
#include "nn_interpretability/perturbation/linear_surrogate.h"
#include "nn_interpretability/perturbation/occlusion.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"
#include "nn_interpretability/perturbation/rise.h"
#include "nn_interpretability/perturbation/shapley_value_sampling.h"

// evaluation metrics
#include "nn_interpretability/metrics/complexity.h"
#include "nn_interpretability/metrics/deletion_insertion.h"
#include "nn_interpretability/metrics/explainer.h"
#include "nn_interpretability/metrics/faithfulness_correlation.h"
#include "nn_interpretability/metrics/infidelity.h"
#include "nn_interpretability/metrics/localization.h"
#include "nn_interpretability/metrics/randomization.h"
#include "nn_interpretability/metrics/report_card.h"
#include "nn_interpretability/metrics/road.h"
#include "nn_interpretability/metrics/sensitivity.h"
#include "nn_interpretability/metrics/similarity.h"

// feature visualization
#include "nn_interpretability/feature_visualization/activation_maximization.h"

// io and the method registry
#include "nn_interpretability/io/npy.h"
#include "nn_interpretability/registry/registry.h"

#!/usr/bin/env python3
"""Time nni (the C++ CLI) side by side with Captum and pytorch-grad-cam on the same models.

    python3 bench/export_bench_models.py --out /tmp/nni_bench_models
    python3 bench/side_by_side.py --nni build/tools/nni/nni --models /tmp/nni_bench_models \\
        --json side_by_side.json --markdown side_by_side.md

Per cell (model x batch x method) the Python tool runs on the *eager* nn.Module rebuilt from
bench_models.py with the scripted module's weights (Captum's hooks do not work on ScriptModules in
torch 1.13; the script probes this and says so in the notes), and nni runs on the TorchScript file
through `nni attribute ... --repeat K --quiet`, which prints the median of K calls after one
warm-up (process start-up and model loading are not timed). Python blocks of K calls and nni
blocks of K calls alternate `--rounds` times. Python ms = median over all timed Python calls,
nni ms = median of the nni block medians. The last column compares the two outputs.
"""
import os

# Before torch is imported: one BLAS thread, as in the C++ benchmarks (unless the caller set it).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models  # noqa: E402

SMOOTHGRAD_STDEV = 0.15          # absolute noise stdev, both sides (inputs are in [0, 1))
IG_STEPS = 50
SCORE_CAM_BATCH = 64             # masked inputs per forward, both sides (nni's default)
PERTURBATIONS_PER_EVAL = 64      # perturbation methods: rows per forward, both sides (nni --rows-per-call)
MAX_CALLS_PER_BLOCK = 2000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The Python tools
# ---------------------------------------------------------------------------------------------

def install_gradcam_stubs() -> list:
    """pytorch-grad-cam imports ttach, cv2 and sklearn at module level; stub the missing ones.

    Only cv2.resize is used by the methods benchmarked here (BaseCAM.scale_cam_image, bilinear
    upsampling to the input size); the stub does cv2's INTER_LINEAR (half-pixel centres, borders
    clamped, no antialiasing), which is F.interpolate(mode="bilinear", align_corners=False).
    ttach is only used for aug_smooth and KernelPCA only for KPCA-CAM (neither is used).
    """
    stubbed = []
    try:
        import ttach  # noqa: F401
    except ImportError:
        ttach = types.ModuleType("ttach")

        class _Transform:
            def __init__(self, *args, **kwargs):
                self.args, self.kwargs = args, kwargs

            def __iter__(self):
                raise NotImplementedError("ttach stub: aug_smooth is not supported")

        ttach.Compose = ttach.HorizontalFlip = ttach.Multiply = _Transform
        sys.modules["ttach"] = ttach
        stubbed.append("ttach (unused: aug_smooth only)")
    try:
        import cv2  # noqa: F401
    except ImportError:
        cv2 = types.ModuleType("cv2")
        cv2.INTER_LINEAR = 1

        def constant(name):      # e.g. cv2.COLORMAP_JET in default arguments of utils/image.py
            if name.isupper():
                return 0
            raise AttributeError(f"cv2 stub has no {name}")

        cv2.__getattr__ = constant

        def resize(img, dsize, interpolation=1):
            width, height = dsize
            tensor = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
            out = F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)
            return out[0, 0].numpy()

        cv2.resize = resize
        sys.modules["cv2"] = cv2
        stubbed.append("cv2 (resize only: bilinear via F.interpolate, align_corners=False, as cv2.INTER_LINEAR)")
    try:
        import sklearn.decomposition  # noqa: F401
    except ImportError:
        sklearn = types.ModuleType("sklearn")
        decomposition = types.ModuleType("sklearn.decomposition")

        class KernelPCA:
            def __init__(self, *args, **kwargs):
                raise NotImplementedError("sklearn stub: KernelPCA is not available")

        decomposition.KernelPCA = KernelPCA
        sklearn.decomposition = decomposition
        sys.modules["sklearn"] = sklearn
        sys.modules["sklearn.decomposition"] = decomposition
        stubbed.append("sklearn (unused: KPCA-CAM only)")
    return stubbed


def import_tools(captum_src: str, gradcam_src: str):
    """Import Captum and pytorch-grad-cam from their source trees; return (captum.attr, pgc, notes)."""
    for path in (captum_src, gradcam_src):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    stubbed = install_gradcam_stubs()
    import captum
    import captum.attr as ca
    # Load only the pytorch-grad-cam files used here: the package __init__ imports every method
    # (and their optional dependencies).
    package = types.ModuleType("pytorch_grad_cam")
    package.__path__ = [os.path.join(gradcam_src, "pytorch_grad_cam")]
    sys.modules.setdefault("pytorch_grad_cam", package)
    pgc = types.SimpleNamespace()
    for module, cls in (("grad_cam", "GradCAM"), ("grad_cam_plusplus", "GradCAMPlusPlus"),
                        ("layer_cam", "LayerCAM"), ("score_cam", "ScoreCAM")):
        setattr(pgc, cls, getattr(importlib.import_module("pytorch_grad_cam." + module), cls))
    pgc_score_cam = importlib.import_module("pytorch_grad_cam.score_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    # ScoreCAM wraps its per-example loop in tqdm (a progress bar on stderr per call): use a plain
    # iterator instead, as nni runs with --quiet.
    pgc_score_cam.tqdm = types.SimpleNamespace(tqdm=lambda iterable, *a, **k: iterable)
    pgc.ClassifierOutputTarget = ClassifierOutputTarget   # pgc: the classes used here
    # Captum warns on every call that it set requires_grad on the input; keep stderr readable.
    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
    warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
    versions = {"captum": getattr(captum, "__version__", "?"), "pytorch_grad_cam": gradcam_version(gradcam_src)}
    return ca, pgc, stubbed, versions


def gradcam_version(gradcam_src: str) -> str:
    try:
        with open(os.path.join(gradcam_src, "setup.py")) as f:
            for line in f:
                if "version=" in line:
                    return line.split("=", 1)[1].strip().strip("',\"")
    except OSError:
        pass
    return "?"


def probe_captum_on_script(ca, script_path: str, layer: str) -> list:
    """What Captum does with a torch.jit ScriptModule (this torch version): a few tiny calls."""
    notes = []
    script = torch.jit.load(script_path)
    script.eval()
    shape, _ = bench_models.MODELS["mnist_cnn"]
    x = torch.rand((1,) + shape, generator=torch.Generator().manual_seed(0))
    plain = ca.Saliency(script).attribute(x, target=3, abs=False)
    notes.append("Saliency (autograd only, no hooks) works on the ScriptModule.")
    relus = [m for m in script.modules() if isinstance(m, torch.nn.ReLU)]
    guided = ca.GuidedBackprop(script).attribute(x, target=3)
    same = torch.equal(guided, plain)
    notes.append(f"GuidedBackprop on the ScriptModule finds {len(relus)} nn.ReLU modules (the children are "
                 f"RecursiveScriptModules) and hooks none: its output {'equals' if same else 'differs from'} "
                 "the plain gradient, silently (no error).")
    try:
        ca.LayerGradCam(script, bench_models.find_module(script, layer)).attribute(x, target=3)
        notes.append("LayerGradCam on the ScriptModule ran.")
    except Exception as error:  # noqa: BLE001
        notes.append(f"LayerGradCam on the ScriptModule fails: {type(error).__name__}: {str(error).splitlines()[0]}.")
    return notes


def captum_cell(ca, method: str, model, layer):
    """A callable (x, t) -> the Captum output for one method (objects built outside the timing)."""
    if method in ("saliency", "vanilla_gradient"):
        sal = ca.Saliency(model)
        use_abs = method == "saliency"
        return lambda x, t: sal.attribute(x, target=t, abs=use_abs)
    if method == "input_x_gradient":
        ixg = ca.InputXGradient(model)
        return lambda x, t: ixg.attribute(x, target=t)
    if method == "guided_backprop":
        gbp = ca.GuidedBackprop(model)
        return lambda x, t: gbp.attribute(x, target=t)
    if method == "deconvolution":
        dec = ca.Deconvolution(model)
        return lambda x, t: dec.attribute(x, target=t)
    if method == "integrated_gradients":
        ig = ca.IntegratedGradients(model)
        return lambda x, t: ig.attribute(x, baselines=torch.zeros_like(x), target=t, n_steps=IG_STEPS,
                                         method="gausslegendre", internal_batch_size=None)
    if method == "smoothgrad":
        nt = ca.NoiseTunnel(ca.Saliency(model))
        return lambda x, t: nt.attribute(x, nt_type="smoothgrad", nt_samples=50, nt_samples_batch_size=10,
                                         stdevs=SMOOTHGRAD_STDEV, target=t, abs=False)
    if method == "grad_cam":
        lgc = ca.LayerGradCam(model, layer)
        return lambda x, t: lgc.attribute(x, target=t, relu_attributions=True)
    if method == "guided_grad_cam":
        ggc = ca.GuidedGradCam(model, layer)
        # Captum's default interpolation is "nearest"; nni's Guided Grad-CAM is bilinear.
        return lambda x, t: ggc.attribute(x, target=t, interpolate_mode="bilinear")
    if method == "occlusion":
        occ = ca.Occlusion(model)
        # Captum's perturbations_per_eval counts windows per forward, each a copy of the whole batch.
        return lambda x, t: occ.attribute(x, sliding_window_shapes=(x.shape[1], 8, 8), strides=(x.shape[1], 4, 4),
                                          baselines=0.0, target=t,
                                          perturbations_per_eval=max(1, PERTURBATIONS_PER_EVAL // x.shape[0]))
    if method == "feature_ablation":
        fa = ca.FeatureAblation(model)

        def ablate(x, t):
            h, w = x.shape[2], x.shape[3]
            ids = (torch.arange(h).div(4, rounding_mode="floor").unsqueeze(1) * ((w + 3) // 4)
                   + torch.arange(w).div(4, rounding_mode="floor").unsqueeze(0)).view(1, 1, h, w)
            return fa.attribute(x, target=t, baselines=0.0, feature_mask=ids.expand(1, x.shape[1], h, w),
                                perturbations_per_eval=max(1, PERTURBATIONS_PER_EVAL // x.shape[0]))
        return ablate
    raise ValueError(method)


class GradCamCell:
    """A pytorch-grad-cam object for one cell; its hooks stay on the model until release()."""

    CLASSES = {"grad_cam": "GradCAM", "grad_cam_pp": "GradCAMPlusPlus", "layer_cam": "LayerCAM",
               "score_cam": "ScoreCAM"}

    def __init__(self, pgc, method: str, model, layer):
        self.model = model
        self.cam = getattr(pgc, self.CLASSES[method])(model=model, target_layers=[layer])
        if method == "score_cam":
            self.cam.batch_size = SCORE_CAM_BATCH   # ScoreCAM reads it if present (default 16)
        self.target_class = pgc.ClassifierOutputTarget

    def __call__(self, x, t):
        return self.cam(input_tensor=x, targets=[self.target_class(int(c)) for c in t])

    def release(self):
        self.cam.activations_and_grads.release()
        self.model.zero_grad(set_to_none=True)   # pgc calls loss.backward(): drop the parameter grads


# Methods: (nni method, Python tool, nni options, how to compare).
#   compare "raw": same layout; "channel_max": Captum's |grad| [N,C,H,W] reduced by max over C
#   (nni's saliency map [N,1,H,W]); "minmax": pgc's upsampled, per-example min-max normalized map
#   against nni's bilinear map normalized the same way; None: not compared.
METHODS = [
    ("saliency", "Captum Saliency(abs=True)", [], "channel_max"),
    ("vanilla_gradient", "Captum Saliency(abs=False)", [], "raw"),
    ("input_x_gradient", "Captum InputXGradient", [], "raw"),
    ("guided_backprop", "Captum GuidedBackprop", [], "raw"),
    ("deconvolution", "Captum Deconvolution", [], "raw"),
    ("integrated_gradients", "Captum IntegratedGradients", ["--steps", str(IG_STEPS)], "raw"),
    ("smoothgrad", "Captum NoiseTunnel(Saliency)",
     ["--base", "vanilla_gradient", "--samples", "50", "--stdev", str(SMOOTHGRAD_STDEV)],
     None),
    ("grad_cam", "Captum LayerGradCam", ["--upsample", "none"], "raw"),
    ("grad_cam", "pytorch-grad-cam GradCAM", ["--upsample", "bilinear"], "minmax"),
    ("guided_grad_cam", "Captum GuidedGradCam", ["--upsample", "bilinear"], "raw"),
    ("grad_cam_pp", "pytorch-grad-cam GradCAMPlusPlus", ["--upsample", "bilinear"], "minmax"),
    ("layer_cam", "pytorch-grad-cam LayerCAM", ["--upsample", "bilinear"], "minmax"),
    ("score_cam", "pytorch-grad-cam ScoreCAM",
     ["--upsample", "bilinear", "--rows-per-call", str(SCORE_CAM_BATCH)], "minmax"),
    # Perturbation: the same windows / 4 x 4 patches (shared across channels) and chunk size.
    ("occlusion", "Captum Occlusion", ["--window", "C,8,8", "--stride", "C,4,4", "--rows-per-call",
                                       str(PERTURBATIONS_PER_EVAL)], "raw"),
    ("feature_ablation", "Captum FeatureAblation", ["--features", "grid:4x4", "--rows-per-call",
                                                    str(PERTURBATIONS_PER_EVAL)], "raw"),
]
LAYER_METHODS = {"grad_cam", "guided_grad_cam", "grad_cam_pp", "layer_cam", "score_cam"}


def to_numpy(output) -> np.ndarray:
    if isinstance(output, tuple):
        output = output[0]
    if isinstance(output, torch.Tensor):
        output = output.detach().cpu().numpy()
    return np.asarray(output, dtype=np.float32)


def minmax(maps: np.ndarray) -> np.ndarray:
    """Per-example min-max normalization to [0, 1] (pytorch-grad-cam's scale_cam_image, without its 1e-7)."""
    flat = maps.reshape(maps.shape[0], -1).astype(np.float64)
    low, high = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return ((flat - low) / span).reshape(maps.shape)


def relative_diff(nni_out: np.ndarray, python_out: np.ndarray, compare: str):
    """max |nni - python| / max |python| after bringing both to the same form; (value, note)."""
    if compare == "channel_max":
        python_out = np.abs(python_out).max(axis=1, keepdims=True)
    if compare == "minmax":
        nni_out = minmax(nni_out.reshape(python_out.shape[0], *python_out.shape[-2:]))
        python_out = python_out.reshape(nni_out.shape)
    if nni_out.size != python_out.size:
        return None, f"shapes differ: nni {list(nni_out.shape)} vs python {list(python_out.shape)}"
    nni_out = nni_out.reshape(python_out.shape).astype(np.float64)
    scale = np.abs(python_out).max()
    diff = np.abs(nni_out - python_out).max()
    return float(diff / scale) if scale > 0 else float(diff), None


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

def calls_per_block(seconds_per_call: float, block_seconds: float) -> int:
    """About block_seconds per block, at least 3 calls; 1-2 calls for calls slower than 4 s."""
    if seconds_per_call > 10:
        return 1
    if seconds_per_call > 4:
        return 2
    return int(min(MAX_CALLS_PER_BLOCK, max(3, round(block_seconds / max(seconds_per_call, 1e-6)))))


def time_python_block(fn, x, t, calls: int) -> list:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn(x, t)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def run_nni(command: list, env: dict, timeout: float):
    """One nni block; (median_ms, None) or (None, error message)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"nni timed out after {timeout:.0f} s"
    except OSError as error:
        return None, f"nni could not run: {error}"
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("{")]
    if done.returncode != 0 or not lines:
        message = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        return None, f"nni exit {done.returncode}: " + " | ".join(message[-3:])
    try:
        return float(json.loads(lines[-1])["median_ms"]), None
    except (ValueError, KeyError) as error:
        return None, f"nni output not understood ({error}): {lines[-1][:200]}"


def run_cell(cell: dict, python_fn, x, t, args, nni_env, workdir) -> dict:
    """Warm-up, then rounds of (Python block, nni block); fills in the cell's results."""
    row = dict(cell)
    python_out, python_times, python_error = None, [], None
    if python_fn is not None:
        try:
            start = time.perf_counter()
            python_out = to_numpy(python_fn(x, t))              # warm-up, also the reference output
            warm_s = time.perf_counter() - start
        except Exception as error:  # noqa: BLE001
            python_error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            python_fn, warm_s = None, None
    calls = calls_per_block(warm_s, args.seconds) if warm_s is not None else 3

    out_path = os.path.join(workdir, "out.npy")
    command = [args.nni, "attribute", "--model", cell["model_path"], "--input", cell["input_path"],
               "--target", cell["target_path"], "--method", cell["method"], "--batch-size", str(cell["batch"]),
               "--repeat", str(calls), "--quiet", "--output", out_path] + cell["nni_options"]
    timeout = max(120.0, 30.0 * (warm_s or 1.0) * calls)
    nni_blocks, nni_error, nni_out = [], None, None
    for _ in range(args.rounds):
        if python_fn is not None:
            python_times += time_python_block(python_fn, x, t, calls)
        if nni_error is None:
            median, nni_error = run_nni(command, nni_env, timeout)
            if median is not None:
                nni_blocks.append(median)
                if nni_out is None:
                    nni_out = np.load(out_path)

    row["calls_per_block"] = calls
    row["python_ms"] = statistics.median(python_times) if python_times else None
    row["python_block_medians_ms"] = [statistics.median(python_times[i:i + calls])
                                      for i in range(0, len(python_times), calls)]
    row["nni_ms"] = statistics.median(nni_blocks) if nni_blocks else None
    row["nni_block_medians_ms"] = nni_blocks
    row["ratio"] = row["python_ms"] / row["nni_ms"] if row["python_ms"] and row["nni_ms"] else None
    row["nni_command"] = " ".join(command)
    row["error"] = "; ".join(e for e in (python_error and "python: " + python_error, nni_error) if e) or None
    row["max_rel_diff"], row["diff_note"] = None, None
    if cell["compare"] is None:
        row["diff_note"] = "noise differs"
    elif python_out is not None and nni_out is not None:
        row["max_rel_diff"], row["diff_note"] = relative_diff(nni_out, python_out, cell["compare"])
        if cell["method"] == "score_cam":
            row["diff_note"] = "definition differs"
    return row


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

def fmt_ms(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def fmt_diff(row) -> str:
    if row["max_rel_diff"] is None:
        return row["diff_note"] or "-"
    text = f"{row['max_rel_diff']:.1e}"
    return f"{text} ({row['diff_note']})" if row["diff_note"] else text


def markdown(environment: dict, rows: list, notes: list) -> str:
    env = environment
    lines = [
        "# nni vs Captum / pytorch-grad-cam, side by side (CPU)",
        "",
        f"{env['date']}, torch {env['torch']}, torch threads {env['torch_threads']} (nni: OMP_NUM_THREADS="
        f"{env['nni_omp_num_threads']}), OPENBLAS_NUM_THREADS={env['OPENBLAS_NUM_THREADS']}, "
        f"cpu count {env['cpu_count']} (affinity {env['cpu_affinity']}), Captum {env['captum']}, "
        f"pytorch-grad-cam {env['pytorch_grad_cam']}, {env['nni_version']}, rounds {env['rounds']}, "
        f"~{env['seconds']} s per block, load average {env['load_average_start'][0]} at the start and "
        f"{env.get('load_average_end', ['?'])[0]} at the end",
        "",
        "| model | batch | method | Python tool | Python ms | nni ms | Python / nni | max rel. diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "-"
        diff = fmt_diff(r)
        if r["error"]:
            diff += f" — error: {r['error'][:160]}"
        lines.append(f"| {r['model']} | {r['batch']} | {r['method']} | {r['python_tool']} | {fmt_ms(r['python_ms'])} "
                     f"| {fmt_ms(r['nni_ms'])} | {ratio} | {diff} |")
    lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def static_notes() -> list:
    return [
        "Python ms: median over all timed calls of the library call on the eager nn.Module (hook set-up "
        "and Python overhead included); nni ms: median of the per-block medians printed by "
        "`nni attribute --repeat K` (K calls on one batch after one warm-up call; process start-up and "
        "model loading are not timed). Blocks of K calls alternate, Python first, `rounds` times.",
        "max rel. diff = max |nni - Python| / max |Python| over the whole output, targets i % 10 on both sides.",
        "saliency: Captum's Saliency(abs=True) is |gradient| per channel [N, C, H, W]; nni's saliency is the max "
        "over channels [N, 1, H, W]. Compared after a max over Captum's channels (outside the timing).",
        "CAM maps: nni's are raw ([N, 1, h, w]) by default (--upsample none), as Captum's LayerGradCam. "
        "pytorch-grad-cam upsamples each map to the input size (cv2.resize, bilinear) and min-max normalizes "
        "it per example: for its rows nni runs with --upsample bilinear and its output is min-max normalized "
        "per example for the comparison (min-max commutes with bilinear resizing).",
        "guided_grad_cam: Captum's GuidedGradCam is called with interpolate_mode='bilinear' (its default is "
        "'nearest') to match nni; Captum runs two forward passes (Grad-CAM, then guided backprop), nni one.",
        f"integrated_gradients: {IG_STEPS} Gauss-Legendre steps, zero baseline; Captum internal_batch_size=None "
        "(all 50 x N rows in one forward/backward) and nni's default, the automatic rows per call (about 320 "
        "rows, whole copies of the batch: 50 rows at batch 1, 10 steps x 32 rows at batch 32; rows_per_call.h).",
        f"smoothgrad: 50 samples, absolute noise stdev {SMOOTHGRAD_STDEV} on both sides, mean of vanilla "
        "gradients; Captum in batches of 10 (nt_samples_batch_size=10), nni with its automatic rows per call "
        "(all 50 at batch 1, 10 samples x 32 rows at batch 32, the same split as Captum here); the noise differs, so the outputs are not compared.",
        f"score_cam (batch 1, mnist_cnn and cifar_cnn only): both sides {SCORE_CAM_BATCH} masked inputs per "
        "forward. The definitions differ: pytorch-grad-cam weights channels by a softmax over channels of the "
        "raw target logits of the masked inputs and builds masks with align_corners=True upsampling; nni "
        "weights each channel by the target's softmax probability over classes (Wang et al.) with "
        "align_corners=False masks, so the diff column is not a correctness check there. pytorch-grad-cam's "
        "tqdm progress bar is replaced by a plain iterator.",
        "grad_cam_pp: pytorch-grad-cam adds 1e-6 to the denominator of alpha; with small gradients (these "
        "random-weight models have |dy/dA| ~ 1e-3 to 1e-2) that changes the channel weights, hence diffs of "
        "1e-3 to 1e-1. nni sets alpha to 0 where the denominator is 0 instead; pytorch-grad-cam's formula "
        "without the 1e-6 matches nni's raw map to ~1e-7 (checked by hand on cifar_cnn and resnet18, batch 1).",
        "Threads: on a machine with other load, more than one intra-op thread can make single calls stall "
        "(OpenMP barriers waiting for a descheduled thread; seen here as nni 176 ms vs 9 ms per call with 2 "
        "threads vs 1 on a loaded 2-core VM); use --threads 1 there, or an idle machine.",
        "nni's `cam` method has no Captum / pytorch-grad-cam counterpart and is not timed here.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nni", required=True, help="path of the nni CLI binary")
    parser.add_argument("--models", required=True, help="directory written by export_bench_models.py")
    parser.add_argument("--rounds", type=int, default=3, help="Python/nni block pairs per cell (default 3)")
    parser.add_argument("--seconds", type=float, default=1.0, help="target seconds per block (default 1)")
    parser.add_argument("--filter", default="", help="only cells whose label model/bB/method contains this")
    parser.add_argument("--json", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the markdown table here")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads on both sides (torch.set_num_threads; OMP_NUM_THREADS for nni); "
                             "default: the CPUs this process may run on")
    parser.add_argument("--captum-src", default=os.environ.get("CAPTUM_SRC", "/work/refsrc/captum"))
    parser.add_argument("--gradcam-src", default=os.environ.get("GRADCAM_SRC", "/work/refsrc/gradcam"))
    args = parser.parse_args()

    default_threads = torch.get_num_threads()
    affinity = len(os.sched_getaffinity(0))
    threads = args.threads if args.threads > 0 else max(1, affinity)
    torch.set_num_threads(threads)
    # nni (LibTorch with OpenMP) gets the same number of intra-op threads; LibTorch's own default
    # (physical cores) may differ from what the Python side uses.
    nni_env = dict(os.environ, OMP_NUM_THREADS=str(threads))

    ca, pgc, stubbed, versions = import_tools(args.captum_src, args.gradcam_src)
    try:
        nni_version = subprocess.run([args.nni, "--version"], capture_output=True, text=True,
                                     timeout=60).stdout.strip() or "nni ?"
    except OSError as error:
        sys.exit(f"cannot run {args.nni}: {error}")

    environment = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "torch_default_threads": default_threads, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "nni_omp_num_threads": nni_env["OMP_NUM_THREADS"], "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity, "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(), "machine": platform.machine(),
        "nni": os.path.abspath(args.nni), "nni_version": nni_version, "rounds": args.rounds,
        "seconds": args.seconds, "filter": args.filter, **versions,
    }
    notes = static_notes()
    if stubbed:
        notes.append("pytorch-grad-cam's missing imports are stubbed: " + "; ".join(stubbed) + ".")
    mnist_path = os.path.join(args.models, "mnist_cnn.pt")
    try:
        notes.append("Captum on a ScriptModule (torch " + torch.__version__ + "), hence the eager modules: "
                     + " ".join(probe_captum_on_script(ca, mnist_path, bench_models.MODELS["mnist_cnn"][1])))
    except Exception as error:  # noqa: BLE001
        notes.append(f"Captum ScriptModule probe failed: {type(error).__name__}: {error}")

    # The cells, in order.
    cells = []
    for name, (shape, layer_name) in bench_models.MODELS.items():
        for batch in (1, 32):
            for method, tool, options, compare in METHODS:
                if method == "score_cam" and (batch != 1 or name == "resnet18"):
                    continue
                if method in ("occlusion", "feature_ablation") and batch != 1:
                    continue  # minutes per call on ResNet-18 at batch 32 on both sides
                # "C,8,8": the window spans all channels.
                options = [o.replace("C,", f"{shape[0]},", 1) if o.startswith("C,") else o for o in options]
                label = f"{name}/b{batch}/{method}"
                if args.filter and args.filter not in label:
                    continue
                cells.append({
                    "label": label, "model": name, "batch": batch, "method": method, "python_tool": tool,
                    "layer": layer_name if method in LAYER_METHODS else None, "compare": compare,
                    "nni_options": (["--layer", layer_name] if method in LAYER_METHODS else []) + options,
                    "model_path": os.path.join(args.models, f"{name}.pt"),
                    "input_path": os.path.join(args.models, f"{name}_x{batch}.npy"),
                    "target_path": os.path.join(args.models, f"{name}_t{batch}.npy"),
                })
    log(f"{len(cells)} cells; torch threads {threads}, OPENBLAS_NUM_THREADS={environment['OPENBLAS_NUM_THREADS']}")

    rows, eager_models = [], {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nni_side_by_side_") as workdir:
        for index, cell in enumerate(cells, 1):
            name = cell["model"]
            if name not in eager_models:          # the eager module with the script's weights
                script = torch.jit.load(cell["model_path"])
                eager = bench_models.build_eager(name)
                eager.load_state_dict(script.state_dict())
                eager.eval()
                shape = bench_models.MODELS[name][0]
                probe = torch.rand((2,) + shape, generator=torch.Generator().manual_seed(0))
                with torch.no_grad():
                    diff = (eager(probe) - script(probe)).abs().max().item()
                notes.append(f"{name}: eager module vs TorchScript file, max |logit diff| {diff:.1e}.")
                eager_models[name] = eager
            model = eager_models[name]
            x = torch.from_numpy(np.load(cell["input_path"]))
            t = torch.from_numpy(np.load(cell["target_path"]))
            layer = bench_models.find_module(model, cell["layer"]) if cell["layer"] else None
            gradcam_cell = None
            try:
                if cell["python_tool"].startswith("Captum"):
                    python_fn = captum_cell(ca, cell["method"], model, layer)
                else:
                    python_fn = gradcam_cell = GradCamCell(pgc, cell["method"], model, layer)
            except Exception as error:  # noqa: BLE001
                log(f"  cannot set up {cell['python_tool']}: {error}")
                python_fn = None
            log(f"[{index}/{len(cells)}] {cell['label']} ({cell['python_tool']}) ...")
            row = run_cell(cell, python_fn, x, t, args, nni_env, workdir)
            if gradcam_cell is not None:
                gradcam_cell.release()
            for key in ("model_path", "input_path", "target_path", "compare"):
                row.pop(key)
            rows.append(row)
            log(f"    python {fmt_ms(row['python_ms'])} ms, nni {fmt_ms(row['nni_ms'])} ms, K={row['calls_per_block']}, "
                f"diff {fmt_diff(row)}" + (f", error: {row['error']}" if row["error"] else ""))
    environment["total_s"] = round(time.perf_counter() - started, 1)
    environment["load_average_end"] = [round(v, 2) for v in os.getloadavg()]

    text = markdown(environment, rows, notes)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": environment, "notes": notes, "rows": rows}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

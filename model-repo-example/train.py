"""Trains the pump forecaster and writes what edgeship evaluates and publishes.

Outputs (in --out): model.onnx, metrics.json, golden.json (inputs + PyTorch outputs) and
reference-stats.json (per-feature statistics of the training inputs, for drift detection).
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from data import CHANNELS, generate, inject_anomalies, windows
from model import Forecaster

TRAIN_FRACTION = 0.7

# torch.onnx warns about GRU exports with dynamic batch; the golden check and profiling at batch
# 64 verify the exported graph instead.
warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
THRESHOLD_QUANTILE = 0.995


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.json")
    parser.add_argument("--out", default="out")
    args = parser.parse_args()
    params = json.loads(Path(args.params).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(params["seed"])
    torch.set_num_threads(2)
    started = time.perf_counter()

    series = generate()
    split = int(len(series) * TRAIN_FRACTION)
    train_series = series[:split]
    val_series, labels = inject_anomalies(series, start=split)
    val_series, labels = val_series[split:], labels[split:]
    window = params["window"]
    x_train, y_train = windows(train_series, window)
    x_val, y_val = windows(val_series, window)
    y_labels = labels[window:]

    mean = torch.tensor(train_series.mean(axis=0))
    std = torch.tensor(train_series.std(axis=0))
    model = Forecaster(len(CHANNELS), params["hidden"], params["layers"], mean, std)
    fit(model, x_train, y_train, params)

    model.eval()
    with torch.no_grad():
        train_pred = model(torch.from_numpy(x_train)).numpy()
        val_pred = model(torch.from_numpy(x_val)).numpy()
    scale = std.numpy()
    train_err = np.abs(train_pred - y_train) / scale
    residual_scale = train_err.std(axis=0) + 1e-6
    threshold = float(np.quantile((train_err / residual_scale).max(axis=1), THRESHOLD_QUANTILE))
    val_err = np.abs(val_pred - y_val) / scale
    flagged = (val_err / residual_scale).max(axis=1) > threshold
    normal = ~y_labels
    metrics = {
        "val_mae": float(val_err[normal].mean()),
        "val_rmse": float(np.sqrt((val_err[normal] ** 2).mean())),
        **detection_scores(flagged, y_labels),
        "anomaly_threshold": threshold,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "train_seconds": round(time.perf_counter() - started, 2),
    }

    export(model, x_val, out / "model.onnx", window, threshold, residual_scale)
    write_golden(model, x_val, y_labels, out / "golden.json")
    write_reference(train_series, out / "reference-stats.json")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))


def fit(model: nn.Module, x: np.ndarray, y: np.ndarray, params: dict) -> None:
    optimiser = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    scale = model.std[0, 0, :]
    generator = torch.Generator().manual_seed(params["seed"])
    for epoch in range(params["epochs"]):
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(order), params["batch_size"]):
            batch = order[start:start + params["batch_size"]]
            loss = (((model(inputs[batch]) - targets[batch]) / scale) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss) * len(batch)
        print(f"epoch {epoch + 1}/{params['epochs']} loss {total / len(order):.4f}", flush=True)


def detection_scores(flagged: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    true_positive = float((flagged & labels).sum())
    precision = true_positive / max(float(flagged.sum()), 1.0)
    recall = true_positive / max(float(labels.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"anomaly_precision": precision, "anomaly_recall": recall, "anomaly_f1": f1}


def export(model: nn.Module, x_val: np.ndarray, path: Path, window: int, threshold: float,
           residual_scale: np.ndarray) -> None:
    example = torch.from_numpy(x_val[:1])
    torch.onnx.export(
        model, example, str(path), opset_version=17,
        input_names=["readings"], output_names=["forecast"],
        dynamic_axes={"readings": {0: "batch"}, "forecast": {0: "batch"}},
    )
    proto = onnx.load(str(path))
    for key, value in {
        "channels": ",".join(CHANNELS),
        "window": str(window),
        "anomaly_threshold": repr(threshold),
        "residual_scale": ",".join(repr(float(v)) for v in residual_scale),
    }.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def write_golden(model: nn.Module, x_val: np.ndarray, labels: np.ndarray, path: Path) -> None:
    anomalous = np.flatnonzero(labels)[:4]
    picks = np.concatenate([np.arange(4), anomalous]).astype(int)
    samples = []
    with torch.no_grad():
        for index in picks:
            x = x_val[index:index + 1]
            y = model(torch.from_numpy(x)).numpy()
            samples.append({
                "inputs": {"readings": tensor_json(x)},
                "outputs": {"forecast": tensor_json(y)},
            })
    path.write_text(json.dumps({"framework": f"torch {torch.__version__}", "samples": samples}))


def tensor_json(array: np.ndarray) -> dict:
    return {"dtype": str(array.dtype), "dims": list(array.shape), "data": array.ravel().tolist()}


def write_reference(series: np.ndarray, path: Path, bins: int = 10) -> None:
    features = []
    for index, name in enumerate(CHANNELS):
        column = series[:, index].astype(np.float64)
        edges = np.quantile(column, np.linspace(0, 1, bins + 1))[1:-1]
        counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=bins)
        features.append({
            "name": name, "input": "readings", "index": index,
            "mean": float(column.mean()), "std": float(column.std()),
            "min": float(column.min()), "max": float(column.max()),
            "edges": edges.tolist(), "proportions": (counts / counts.sum()).tolist(),
        })
    path.write_text(json.dumps({"count": len(series), "features": features}, indent=2) + "\n")


if __name__ == "__main__":
    main()

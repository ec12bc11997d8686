"""Exports an untrained forecaster of a given size: latency does not depend on the weights."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "model-repo-example"))
from model import Forecaster  # noqa: E402

out, hidden, layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
model = Forecaster(3, hidden, layers, torch.zeros(3), torch.ones(3)).eval()
torch.onnx.export(
    model, torch.zeros(1, 32, 3), out, opset_version=17,
    input_names=["readings"], output_names=["forecast"],
    dynamic_axes={"readings": {0: "batch"}, "forecast": {0: "batch"}},
)

"""GRU forecaster: the last `window` readings in, the next reading out (raw units both ways)."""
from __future__ import annotations

import torch
from torch import nn


class Forecaster(nn.Module):
    def __init__(self, channels: int, hidden: int, layers: int, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        # Normalisation lives inside the graph so the deployed model takes raw sensor readings.
        self.register_buffer("mean", mean.reshape(1, 1, channels))
        self.register_buffer("std", std.reshape(1, 1, channels))
        self.gru = nn.GRU(channels, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, channels)

    def forward(self, readings: torch.Tensor) -> torch.Tensor:
        scaled = (readings - self.mean) / self.std
        encoded, _ = self.gru(scaled)
        step = self.head(encoded[:, -1, :])
        return step * self.std[:, 0, :] + self.mean[:, 0, :]

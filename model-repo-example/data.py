"""Deterministic pump/motor sensor data with injected anomalies.

Three channels sampled once a minute: bearing temperature (degC), vibration RMS (mm/s) and motor
current (A). Load follows a daily cycle plus slow random walks; temperature lags the load,
vibration and current follow it. Anomalies are injected into the validation split only, so the
forecaster learns normal behaviour and flags what it cannot predict.
"""
from __future__ import annotations

import numpy as np

CHANNELS = ("temperature", "vibration", "current")


def generate(steps: int = 6000, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(steps, dtype=np.float64)
    load = 0.6 + 0.25 * np.sin(2 * np.pi * t / 1440) + 0.1 * np.sin(2 * np.pi * t / 97)
    load += np.cumsum(rng.normal(0, 0.002, steps))
    load = np.clip(load, 0.05, 1.2)
    temperature = np.empty(steps)
    temperature[0] = 40.0
    for i in range(1, steps):  # first-order thermal lag behind the load
        target = 35.0 + 25.0 * load[i]
        temperature[i] = temperature[i - 1] + 0.05 * (target - temperature[i - 1])
    temperature += rng.normal(0, 0.15, steps)
    vibration = 1.5 + 2.5 * load + 0.3 * np.sin(2 * np.pi * t / 13) + rng.normal(0, 0.08, steps)
    current = 8.0 + 14.0 * load + rng.normal(0, 0.2, steps)
    return np.stack([temperature, vibration, current], axis=1).astype(np.float32)


def inject_anomalies(series: np.ndarray, start: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Returns a copy with spikes, a bearing-wear drift and a stuck sensor, and per-step labels."""
    rng = np.random.default_rng(seed)
    data = series.copy()
    labels = np.zeros(len(data), dtype=bool)
    span = len(data) - start
    for _ in range(12):  # vibration and current spikes
        i = start + int(rng.integers(40, span - 40))
        channel = int(rng.choice([1, 2]))
        data[i, channel] += float(rng.choice([-1, 1])) * (6.0 if channel == 1 else 9.0)
        labels[i] = True
    drift_at = start + span // 2
    ramp = np.linspace(0, 4.0, 60, dtype=np.float32)  # a bearing heating up faster than load explains
    data[drift_at:drift_at + 60, 0] += ramp
    labels[drift_at + 15:drift_at + 60] = True
    stuck_at = start + span // 4
    data[stuck_at:stuck_at + 30, 2] = data[stuck_at, 2] + 5.0
    labels[stuck_at:stuck_at + 30] = True
    return data, labels


def windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows of `window` steps and the step that follows each."""
    count = len(series) - window
    index = np.arange(window)[None, :] + np.arange(count)[:, None]
    return series[index], series[window:]

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluatePair } from '../../../src/adapters/onnx/joint-eval.ts';
import { cascadeCurve, chooseThreshold } from '../../../src/core/joint.ts';
import { modelZoo } from '../../helpers/model-zoo.ts';

/** One labelled example: a row of class scores for the classifier, and the right class. */
const example = (scores: [number, number], label: number) => ({
  inputs: { scores: { dtype: 'float32', dims: [1, 2], data: scores } },
  label,
});

describe('a pair evaluated on a labelled set', () => {
  it("reads each model's class and the edge model's confidence, and draws the curve from them", async () => {
    const zoo = await modelZoo();
    const set = {
      samples: [
        example([0.875, 0.125], 0), // confident and right at the edge
        example([0.375, 0.625], 0), // unsure and wrong at the edge; the cloud (the opposite class) is right
        example([0.25, 0.75], 0), // the same
        example([0.9375, 0.0625], 1), // confident and wrong: the cloud would be right, but it is not asked at 0.8
      ],
    };
    const edge = join(zoo, 'classifier.onnx');
    const cloud = join(zoo, 'opposite-classifier.onnx');
    const samples = await evaluatePair(edge, cloud, set);
    expect(samples).toEqual([
      { label: 0, edge: { predicted: 0, confidence: 0.875 }, cloud: { predicted: 1 } },
      { label: 0, edge: { predicted: 1, confidence: 0.625 }, cloud: { predicted: 0 } },
      { label: 0, edge: { predicted: 1, confidence: 0.75 }, cloud: { predicted: 0 } },
      { label: 1, edge: { predicted: 0, confidence: 0.9375 }, cloud: { predicted: 1 } },
    ]);
    // The named confidence output gives the same confidences.
    expect((await evaluatePair(edge, cloud, set, 'confidence')).map((sample) => sample.edge.confidence)).toEqual([
      0.875, 0.625, 0.75, 0.9375,
    ]);
    const curve = cascadeCurve(samples, [0, 0.8, Number.POSITIVE_INFINITY]);
    expect(curve).toEqual([
      { threshold: 0, cloudShare: 0, accuracy: 0.25 },
      { threshold: 0.8, cloudShare: 0.5, accuracy: 0.75 },
      { threshold: Number.POSITIVE_INFINITY, cloudShare: 1, accuracy: 0.75 },
    ]);
    expect(chooseThreshold(curve, { withinPoints: 0 }).point.threshold).toBe(0.8);
    await expect(evaluatePair(edge, cloud, set, 'nope')).rejects.toThrow(
      /classifier\.onnx: no output "nope" to read the confidence from; it has probs, confidence/,
    );
  });
});

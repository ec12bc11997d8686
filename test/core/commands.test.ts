import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/core/commands.ts';

describe('parseCommand', () => {
  it.each([
    ['/edgeship retrain', { name: 'retrain' }],
    ['  /edgeship retrain  \nbecause the data changed', { name: 'retrain' }],
    ['/edgeship help', { name: 'help' }],
    ['/edgeship', { name: 'help' }],
    ['/edgeship deploy now', { error: '`/edgeship deploy now` is not an edgeship command.' }],
    ['/edgeship retrain please', { error: '`/edgeship retrain please` is not an edgeship command.' }],
    ['LGTM, /edgeship retrain later', undefined],
    ['/edgeshipping', undefined],
  ])('%j', (body, expected) => {
    expect(parseCommand(body)).toEqual(expected);
  });
});

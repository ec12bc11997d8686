import { describe, expect, it } from 'vitest';
import { formatReference, parseReference } from '../../../src/adapters/oci/reference.ts';
import { ArtifactError } from '../../../src/core/errors.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['ghcr.io/org/pump:1.0.0', { kind: 'registry', registry: 'ghcr.io', repository: 'org/pump', tag: '1.0.0' }],
    [
      `127.0.0.1:5000/models/pump@${digest}`,
      { kind: 'registry', registry: '127.0.0.1:5000', repository: 'models/pump', digest },
    ],
    ['localhost/pump', { kind: 'registry', registry: 'localhost', repository: 'pump' }],
    [`oci-layout:/var/oci/pump@${digest}`, { kind: 'layout', directory: '/var/oci/pump', digest }],
    ['oci-layout:./oci/pump:1.1.0', { kind: 'layout', directory: './oci/pump', tag: '1.1.0' }],
  ])('parses %s', (text, expected) => {
    const reference = parseReference(text);
    expect(reference).toEqual(expected);
    expect(formatReference(reference)).toBe(text);
  });

  it.each([
    ['pump:latest', /names no registry host/],
    ['ghcr.io/Org/Pump:1', /must be lowercase/],
    ['ghcr.io/org/pump@sha256:123', /is not sha256:<64 hex digits>/],
    ['ghcr.io/org/pump:bad tag', /the tag "bad tag"/],
    ['oci-layout:', /the layout directory is empty/],
  ])('rejects %s with the reason', (text, message) => {
    expect(() => parseReference(text)).toThrow(ArtifactError);
    expect(() => parseReference(text)).toThrow(message);
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from '@shoal/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateNodeIdentity, newNodeId } from './node-identity.js';

describe('loadOrCreateNodeIdentity', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-identity-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loadOrCreateNodeIdentity: keeps the same ID when the daemon starts again', async () => {
    const first = await loadOrCreateNodeIdentity(join(dir, 'state'));
    const second = await loadOrCreateNodeIdentity(join(dir, 'state'));
    expect(first.nodeId).toMatch(/^[a-z0-9]{25}$/);
    expect(second.nodeId).toBe(first.nodeId);
  });

  it('loadOrCreateNodeIdentity: refuses loudly when the identity file is corrupt', async () => {
    await writeFile(join(dir, 'node-identity.json'), '{"nodeId": "x"}');
    const failure = loadOrCreateNodeIdentity(dir);
    await expect(failure).rejects.toBeInstanceOf(ShoalError);
    await expect(failure).rejects.toThrow(
      `Load node identity: "${join(dir, 'node-identity.json')}" holds no valid node ID: got "x"`,
    );
    expect(await readFile(join(dir, 'node-identity.json'), 'utf8')).toBe('{"nodeId": "x"}');
  });

  it('newNodeId: gives distinct 25-character IDs', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newNodeId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]{25}$/);
  });
});

import { expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { describeRoot } from '../helpers/root.js';
import { labDown } from '../../src/lab/down.js';
import { labUp } from '../../src/lab/up.js';
import { labBreak, labFix } from '../../src/lab/faults.js';
import { minimalDataplane } from '../../src/lab/minimal-dataplane.js';
import type { LabDataplaneContext, NodeDataplane } from '../../src/lab/dataplane.js';
import { defaultLabSpec } from '../../src/lab/spec.js';
import { listNetns, nsRun, pidAlive, run, sleep } from '../../src/lab/sh.js';
import { defaultStateDir } from '../../src/lab/state.js';
import { randomPrefix } from './expectations.js';

/** A small spec: two nodes, two pods, so these lifecycle tests stay fast. */
function smallSpec() {
  const spec = defaultLabSpec('vxlan');
  spec.nodes = spec.nodes.slice(0, 2);
  spec.pods = spec.pods.filter((p) => ['web-1', 'web-2'].includes(p.name));
  spec.services = spec.services.filter((s) => s.name === 'web');
  return spec;
}

describeRoot('lab lifecycle', () => {
  it('lab down after a crash: removes unrecorded namespaces with the prefix and their processes, leaves others alone', async () => {
    const prefix = randomPrefix();
    const other = randomPrefix();
    // What a crash half-way through `lab up` leaves: namespaces, a process, a state dir without state file.
    for (const ns of [`${prefix}-ul`, `${prefix}-node-a`, `${other}-node-a`]) await run('ip', ['netns', 'add', ns]);
    const child = spawn('ip', ['netns', 'exec', `${prefix}-node-a`, 'sleep', '300'], { detached: true, stdio: 'ignore' });
    child.unref();
    await fs.mkdir(defaultStateDir(prefix), { recursive: true });
    try {
      await sleep(100);
      expect(pidAlive(child.pid!)).toBe(true);
      const res = await labDown({ prefix });
      expect(res.namespacesDeleted.sort()).toEqual([`${prefix}-node-a`, `${prefix}-ul`]);
      expect(res.killed).toContain(child.pid);
      for (let i = 0; i < 20 && pidAlive(child.pid!); i++) await sleep(50);
      expect(pidAlive(child.pid!)).toBe(false);
      expect(await listNetns(prefix)).toEqual([]);
      expect(await listNetns(other)).toEqual([`${other}-node-a`]);
      await expect(fs.access(defaultStateDir(prefix))).rejects.toThrow();
      expect((await labDown({ prefix })).namespacesDeleted).toEqual([]);
    } finally {
      await run('ip', ['netns', 'del', `${other}-node-a`], { allowFail: true });
      await labDown({ prefix });
    }
  });

  it('a failing lab up tears down what it built', async () => {
    const prefix = randomPrefix();
    await expect(
      labUp(smallSpec(), {
        prefix,
        renderDataplane: () => {
          throw new Error('renderer exploded');
        },
      }),
    ).rejects.toThrow('renderer exploded');
    expect(await listNetns(prefix)).toEqual([]);
    await expect(fs.access(defaultStateDir(prefix))).rejects.toThrow();
  });

  it('loads what the renderer hook returns, and re-renders for renderer faults', async () => {
    const prefix = randomPrefix();
    const seen: Array<string[]> = [];
    const render = (ctx: LabDataplaneContext): Record<string, NodeDataplane> => {
      seen.push(Object.keys(ctx.faults));
      const base = minimalDataplane(ctx);
      const stale = ctx.faults['ipset-stale'] !== undefined;
      return Object.fromEntries(
        Object.entries(base).map(([node, dp]) => [
          node,
          {
            iptablesRestore: dp.iptablesRestore.replace(':OUTPUT ACCEPT [0:0]\n', `:OUTPUT ACCEPT [0:0]\n:lab-marker - [0:0]\n-A lab-marker -m set --match-set lab-test-set src -j RETURN\n`),
            ipsetRestore: `${dp.ipsetRestore}create lab-test-set hash:ip family inet\n${stale ? '' : 'add lab-test-set 10.244.1.1\n'}`,
          },
        ]),
      );
    };
    try {
      const state = await labUp(smallSpec(), { prefix, renderDataplane: render });
      expect(state.dataplane?.source).toBe('renderer');
      const a = `${prefix}-node-a`;
      expect((await nsRun(a, 'iptables-save', [])).stdout).toContain('-A lab-marker -m set --match-set lab-test-set src -j RETURN');
      expect((await nsRun(a, 'ipset', ['list', 'lab-test-set'])).stdout).toContain('10.244.1.1');
      await labBreak(state, 'iptables-drop');
      await labBreak(state, 'ipset-stale', {}, { renderDataplane: render });
      expect(seen.at(-1)).toEqual(['iptables-drop', 'ipset-stale']);
      expect((await nsRun(a, 'ipset', ['list', 'lab-test-set'])).stdout).not.toContain('10.244.1.1');
      // The re-render replaced the filter table; the iptables-drop rule was put back.
      expect((await nsRun(`${prefix}-node-b`, 'iptables-save', [])).stdout).toMatch(/^-A FORWARD -d 10\.244\.2\.1\/32 -j DROP$/m);
      await labFix(state, 'ipset-stale', { renderDataplane: render });
      expect((await nsRun(a, 'ipset', ['list', 'lab-test-set'])).stdout).toContain('10.244.1.1');
      await labFix(state, 'iptables-drop');
      expect((await nsRun(`${prefix}-node-b`, 'iptables-save', [])).stdout).not.toContain('-d 10.244.2.1/32 -j DROP');
    } finally {
      await labDown({ prefix });
    }
    expect(await listNetns(prefix)).toEqual([]);
  }, 60_000);
});

import { expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { describeRoot } from '../helpers/root.js';
import { labDown } from '../../src/lab/down.js';
import { listNetns, pidAlive, run, sleep } from '../../src/lab/sh.js';
import { defaultStateDir } from '../../src/lab/state.js';
import { randomPrefix } from './expectations.js';

describeRoot('lab down after a crash', () => {
  it('removes unrecorded namespaces with the prefix and stops processes living in them; leaves others alone', async () => {
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
});

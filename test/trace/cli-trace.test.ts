/**
 * `caliscope trace` as a user runs it (a child process) on a committed lab bundle: the JSON
 * verdict, the drop rule with its evidence line, the intent cross-check, and the exit code.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const FIX = path.join(ROOT, 'test/fixtures/trace');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [TSX, MAIN, ...args], { cwd: ROOT, maxBuffer: 64 << 20, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('caliscope trace --json', () => {
  it('stale ipset: dropped by the end of api-2 ingress chain on node-b, exit 1, and the cross-check names the set', async () => {
    const r = await cli(['trace', path.join(FIX, 'ipset-stale'), '--from', 'frontend/web-1', '--to', 'backend/api-2', '--port', '8080', '--json']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as {
      verdict: string;
      dropped: Record<string, unknown>;
      hops: { kind: string; node?: string; outcome: string }[];
      intent: { allowed: boolean };
      disagreement: string;
    };
    expect(j.verdict).toBe('dropped');
    expect(j.dropped).toMatchObject({
      node: 'node-b',
      where: 'rule',
      table: 'filter',
      chain: 'cali-tw-cali563d9b72014',
      rule: 9,
      artifact: 'nodes/node-b/iptables-save.txt',
      line: 229,
      text: '-A cali-tw-cali563d9b72014 -m comment --comment "cali:wsYgsiYzGfkV5HhH" -m comment --comment "End of tier default. DROP if no policies passed packet" -m mark --mark 0x0/0x20000 -j DROP',
      endpoint: 'backend/api-2',
    });
    expect(j.hops.map((h) => `${h.kind} ${h.node ?? '-'} ${h.outcome}`)).toEqual(['pod-egress node-a pass', 'node node-a pass', 'underlay - pass', 'node node-b dropped']);
    expect(j.intent.allowed).toBe(true);
    expect(j.disagreement).toContain('ipset cali40s:vQ9-cHH9YQ7APih-hZGhlvE lacks 10.244.1.1');
  });

  it('a Service flow in the healthy lab: delivered to all three backends, exit 0', async () => {
    const r = await cli(['trace', path.join(FIX, 'vxlan'), '--from', 'frontend/web-1', '--to', 'svc/backend/api', '--port', '80', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { verdict: string; paths: { verdict: string; deliveredTo: string }[] };
    expect(j.verdict).toBe('delivered');
    expect(j.paths.map((p) => `${p.verdict} ${p.deliveredTo}`)).toEqual(['delivered backend/api-1', 'delivered backend/api-2', 'delivered backend/api-3']);
  });

  it('the text form names the dropping rule and its line', async () => {
    const r = await cli(['trace', path.join(FIX, 'vxlan'), '--from', 'default/client', '--to', 'default/batch-0', '--port', '9100']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('cali-pi-_CnExFvqXmRfwXqOyPMH');
    expect(r.stdout).toContain('deny-client-to-batch');
    expect(r.stdout).toMatch(/nodes\/node-a\/iptables-save\.txt:205/);
  });
});

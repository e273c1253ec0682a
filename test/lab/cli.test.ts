/**
 * `caliscope lab …` as a user runs it: a real child process per command, against a real lab.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describeRoot } from '../helpers/root.js';
import { randomPrefix } from './expectations.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [TSX, MAIN, ...args], { cwd: ROOT, maxBuffer: 64 << 20, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('caliscope lab faults', () => {
  it('lists the catalogue as JSON with every fault the issue names', async () => {
    const r = await cli(['lab', 'faults', '--json']);
    expect(r.code).toBe(0);
    const ids = (JSON.parse(r.stdout) as Array<{ id: string }>).map((f) => f.id);
    for (const id of ['route-missing', 'blackhole-shadow', 'iptables-drop', 'ipset-stale', 'policy-wrong-selector', 'default-deny-no-dns', 'nat-outgoing-off', 'bgp-port-blocked', 'bgp-as-mismatch', 'vxlan-underlay-blocked', 'mtu-mismatch', 'proxy-arp-off', 'forwarding-off', 'rp-filter-strict', 'duplicate-pod-ip', 'ipam-leak'])
      expect(ids).toContain(id);
  });
});

describeRoot('caliscope lab up → break → collect → diagnose → fix → down', () => {
  const prefix = randomPrefix();
  const stateDir = `/tmp/caliscope-cli-lab-${prefix}`;
  const out = mkdtempSync(path.join(os.tmpdir(), 'caliscope-cli-lab-'));
  afterAll(async () => {
    await cli(['lab', 'down', '--prefix', prefix, '--state-dir', stateDir]);
    rmSync(out, { recursive: true, force: true });
  });

  it('drives the whole cycle from the command line', { timeout: 180_000 }, async () => {
    const common = ['--prefix', prefix, '--state-dir', stateDir];
    const up = await cli(['lab', 'up', ...common]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/is up: vxlan mode, 3 nodes/);

    const unknown = await cli(['lab', 'break', 'no-such-fault', ...common]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown fault "no-such-fault"/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);

    const br = await cli(['lab', 'break', 'policy-wrong-selector', ...common]);
    expect(br.code, br.stderr).toBe(0);
    const bundle = path.join(out, 'bundle');
    const col = await cli(['lab', 'collect', '-o', bundle, ...common]);
    expect(col.code, col.stderr).toBe(0);

    const diag = await cli(['diagnose', bundle, '--json']);
    const findings = (JSON.parse(diag.stdout) as { findings: Array<{ check: string; title: string }> }).findings;
    const hit = findings.find((f) => f.check === 'policy.selector-matches-nothing');
    expect(hit, JSON.stringify(findings.map((f) => f.check))).toBeDefined();
    expect(hit!.title).toMatch(/allow-db-from-api/);

    const fix = await cli(['lab', 'fix', '--all', ...common]);
    expect(fix.stdout).toContain('fixed policy-wrong-selector');
    const down = await cli(['lab', 'down', ...common]);
    expect(down.code).toBe(0);
    const gone = await cli(['lab', 'probe', ...common]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/no lab state/);
  });
});

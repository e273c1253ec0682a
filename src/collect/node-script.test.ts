import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { planNodeSteps, type Step } from './node-plan.js';
import { buildNodeScript, FrameReceiver, newNonce, type FrameParseResult } from './node-script.js';
import { FIXTURES } from '../../test/collect/k8s-replay.js';

const meta = JSON.parse(readFileSync(path.join(FIXTURES, 'exec/node-frames.json'), 'utf8')) as { nonce: string; plan: Record<string, unknown> };
const gz = readFileSync(path.join(FIXTURES, 'exec/node-frames.stdout'));
const plain = gunzipSync(gz);
const stderr = readFileSync(path.join(FIXTURES, 'exec/node-frames.stderr'));
const steps = planNodeSteps(meta.plan);

async function receive(stepsUsed: Step[], nonce: string, out: Buffer, err: Buffer, chunk: number): Promise<FrameParseResult> {
  const rx = new FrameReceiver(stepsUsed, nonce);
  for (let i = 0; i < out.length; i += chunk) rx.stdout.write(out.subarray(i, i + chunk));
  rx.stderr.write(err);
  rx.stdout.end();
  rx.stderr.end();
  if (!rx.stdout.writableFinished) await once(rx.stdout, 'finish');
  return rx.finish();
}

function summary(r: FrameParseResult) {
  return [...r.results.values()].map((x) => ({ id: x.id, command: x.command, code: x.code, len: x.stdout.length, sha: x.stdout.toString('base64').slice(0, 40), nf: !!x.notFound, skip: !!x.skipped, http: x.httpStatus, stderr: x.stderr }));
}

describe('FrameReceiver on a real capture (scripts/fixtures/capture-node-frames.sh)', () => {
  it('rebuilds every step the same way whatever the chunking, gzip or plain', async () => {
    const ref = await receive(steps, meta.nonce, gz, stderr, gz.length);
    expect(ref.complete).toBe(true);
    expect(ref.bytesIn).toBe(gz.length);
    expect([...ref.results.keys()]).toEqual(steps.map((s) => s.id));
    for (const [buf, chunk] of [
      [gz, 1],
      [gz, 7],
      [plain, 1],
      [plain, 13],
      [plain, 4096],
    ] as const) {
      const r = await receive(steps, meta.nonce, buf, stderr, chunk);
      expect(r.complete).toBe(true);
      expect(summary(r)).toEqual(summary(ref));
    }
  });

  it('reads the real outputs: backends, bird alternatives, HTTP status, missing socket, stderr', async () => {
    const r = (await receive(steps, meta.nonce, gz, stderr, 1000)).results;
    expect(r.get('iptables-nft-save')!.stdout.toString()).toMatch(/^:cali-FORWARD/m);
    expect(r.get('iptables-legacy-save')!.stdout.toString()).toMatch(/--dport 22 -j ACCEPT/);
    expect(r.get('iptables-nft-save')!.stderr).toMatch(/iptables-legacy tables present/);
    expect(r.get('iptables-save')!.skipped).toBe(true);
    // No birdcl on Debian: the second alternative (birdc) ran.
    expect(r.get('bird-protocols')!.command).toMatch(/^birdc -s /);
    expect(r.get('bird-protocols')!.stdout.toString()).toMatch(/Mesh_172_18_0_4\s+BGP/);
    expect(r.get('bird6-protocols')!.code).toBe(1);
    expect(r.get('bird6-protocols')!.stderr).toMatch(/Unable to connect to server control socket/);
    expect(r.get('felix-metrics')!.httpStatus).toBe(200);
    expect(r.get('felix-metrics')!.stdout.toString()).toMatch(/^# HELP felix_resync_state/);
    expect(r.get('felix-readiness')!.stdout.toString()).toMatch(/reporting ready/);
    expect(r.get('conntrack')!.stderr).toMatch(/flow entries have been shown/);
    for (const x of r.values()) if (!x.skipped) expect(x.durationMs, x.id).toBeGreaterThanOrEqual(0);
  });

  it('reports a stream cut short as incomplete, keeping the steps that arrived whole', async () => {
    const cut = plain.subarray(0, Math.floor(plain.length / 2));
    const r = await receive(steps, meta.nonce, cut, Buffer.alloc(0), 512);
    expect(r.complete).toBe(false);
    expect(r.results.size).toBeGreaterThan(3);
    expect(r.results.size).toBeLessThan(steps.length);
    // A cut gzip stream too.
    const r2 = await receive(steps, meta.nonce, gz.subarray(0, Math.floor(gz.length / 2)), Buffer.alloc(0), 512);
    expect(r2.complete).toBe(false);
  });

  it('ignores output that does not carry this run’s nonce', async () => {
    const r = await receive(steps, 'ffffffffffffffff', plain, stderr, 4096);
    expect(r.complete).toBe(false);
    expect(r.results.size).toBe(0);
  });
});

describe('the node script itself (POSIX sh), on harmless commands', () => {
  const mk = (id: string, alternatives: [string, ...string[]][], extra: Partial<Step> = {}): Step => ({ kind: 'cmd', id, alternatives, timeoutMs: 30_000, maxBytes: 1024 * 1024, ...extra }) as Step;
  const testSteps: Step[] = [
    mk('hello', [['printf', 'hello\\nworld']]),
    mk('big', [['yes', 'caliscope']], { maxBytes: 1000 }),
    mk('fails', [['sh', '-c', 'echo out; echo oops >&2; exit 3']]),
    mk('missing', [['caliscope-no-such-tool-a'], ['caliscope-no-such-tool-b']]),
    mk('second', [['caliscope-no-such-tool'], ['printf', 'second alternative']]),
    mk('fallback', [['printf', 'plain']], { onlyIfNotFound: ['missing'] } as Partial<Step>),
    mk('not-needed', [['printf', 'never']], { onlyIfNotFound: ['hello'] } as Partial<Step>),
    mk('slow', [['sleep', '5']], { timeoutMs: 1000 }),
    mk('binary', [['head', '-c', '300', '/dev/urandom']]),
    mk('marker-lookalike', [['printf', '@@0000000000000000 END x rc=0 ms=0\\n@@ END\\n']]),
  ];

  it('passes `sh -n`', () => {
    const nonce = newNonce();
    execFileSync('sh', ['-n', '-c', buildNodeScript(testSteps, nonce)]);
    execFileSync('sh', ['-n', '-c', buildNodeScript(planNodeSteps({ felixLogFile: "/var/log/it's here.log" }), nonce)]);
  });

  it('frames outputs, caps them, keeps exit codes and stderr, picks alternatives, times out, and gzips', async () => {
    const nonce = newNonce();
    const script = buildNodeScript(testSteps, nonce);
    const rx = new FrameReceiver(testSteps, nonce);
    const started = Date.now();
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(rx.stdout);
    child.stderr.pipe(rx.stderr);
    await once(child, 'close');
    if (!rx.stdout.writableFinished) await once(rx.stdout, 'finish');
    const res = rx.finish();
    expect(Date.now() - started).toBeLessThan(4500);
    expect(res.complete).toBe(true);
    expect(res.bytesIn).toBeGreaterThan(0);
    const r = res.results;
    expect(r.get('hello')!.stdout.toString()).toBe('hello\nworld');
    expect(r.get('hello')!.code).toBe(0);
    expect(r.get('big')!.truncated).toBe(true);
    expect(r.get('big')!.stdout.length).toBe(1000);
    expect(r.get('big')!.code).toBe(0);
    expect(r.get('fails')!.code).toBe(3);
    expect(r.get('fails')!.stdout.toString()).toBe('out\n');
    expect(r.get('fails')!.stderr).toBe('oops');
    expect(r.get('missing')!.notFound).toBe(true);
    expect(r.get('second')!.stdout.toString()).toBe('second alternative');
    expect(r.get('second')!.command).toBe("printf 'second alternative'");
    expect(r.get('fallback')!.stdout.toString()).toBe('plain');
    expect(r.get('not-needed')!.skipped).toBe(true);
    expect(r.get('slow')!.timedOut).toBe(true);
    expect(r.get('binary')!.stdout.length).toBe(300);
    expect(r.get('marker-lookalike')!.stdout.toString()).toBe('@@0000000000000000 END x rc=0 ms=0\n@@ END\n');
  });

  it('works in a bare image: no gzip (plain frames), no timeout, head or date', async () => {
    const nonce = newNonce();
    const only = [testSteps[0], testSteps[2], testSteps[3]];
    // A PATH with nothing but sh (printf and command -v are shell builtins).
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    execFileSync('ln', ['-s', execFileSync('bash', ['-c', 'type -P sh']).toString().trim(), path.join(dir, 'sh')]);
    const child = spawn('/bin/sh', ['-c', buildNodeScript(only, nonce)], { env: { PATH: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const errs: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => errs.push(c));
    await once(child, 'close');
    execFileSync('rm', ['-rf', dir]);
    const out = Buffer.concat(chunks);
    expect(out.subarray(0, 2).toString()).toBe('@@');
    const r = await receive(only, nonce, out, Buffer.concat(errs), 100);
    expect(r.complete).toBe(true);
    expect(r.results.get('hello')!.stdout.toString()).toBe('hello\nworld');
    expect(r.results.get('hello')!.durationMs).toBe(0);
    expect(r.results.get('fails')!.code).toBe(3);
    expect(r.results.get('fails')!.stderr).toBe('oops');
    expect(r.results.get('missing')!.notFound).toBe(true);
    // Without head the node cannot cap an output; the receiver still keeps at most the cap.
    const bigFrame = Buffer.from(`@@${nonce} BEGIN big 0\n${'y\n'.repeat(2000)}\n@@${nonce} END big rc=0 ms=0\n@@${nonce} DONE\n`);
    const big = await receive([testSteps[1]], nonce, bigFrame, Buffer.alloc(0), 777);
    expect(big.results.get('big')!.stdout.length).toBe(1000);
    expect(big.results.get('big')!.truncated).toBe(true);
    // And the receiver detects gzip when it comes.
    const r2 = await receive(only, nonce, gzipSync(out), Buffer.alloc(0), 3);
    expect(r2.results.get('fails')!.code).toBe(3);
  });
});

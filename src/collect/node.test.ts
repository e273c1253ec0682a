/**
 * The node collector against a real Calico-shaped node: a network namespace with nft and legacy
 * iptables rules (cali- chains), an ipset, a veth to a pod namespace with its /32 route, a
 * blackhole block route, conntrack entries, a BIRD 1.6 daemon and Felix-like HTTP endpoints.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../../test/helpers/root.js';
import { openBundle } from '../bundle/source.js';
import { readManifest, verifyManifest } from '../bundle/manifest.js';
import { NODE_FILE_NAMES } from '../bundle/artifacts.js';
import { collectNode, assembleNode } from './node.js';
import { localExec, netnsExec, type Exec } from './exec.js';
import { planNodeSteps } from './node-plan.js';
import { buildNodeScript, FrameReceiver, newNonce } from './node-script.js';
import { BundleWriter } from './bundle-writer.js';
import { BundleSink } from './sink.js';

const id = `${process.pid}`;
const NS = `csf-col-${id}`;
const POD = `csf-colp-${id}`;
const sh = (cmd: string[]) => execFileSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (...cmd: string[]) => sh(['ip', 'netns', 'exec', NS, ...cmd]);
const inPod = (...cmd: string[]) => sh(['ip', 'netns', 'exec', POD, ...cmd]);

describeRoot('collectNode in a network namespace (real iptables, ipset, routes, conntrack, BIRD, HTTP)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'csf-node-test-'));
  const birdSocket = path.join(tmp, 'bird.ctl');
  const bird6Socket = path.join(tmp, 'bird6.ctl');
  const felixLog = path.join(tmp, 'felix.log');
  const servers: ChildProcess[] = [];
  const plan = { birdSocket, bird6Socket, felixLogFile: felixLog, felixLogBytes: 200, timeoutMs: 10_000 };

  beforeAll(async () => {
    sh(['ip', 'netns', 'add', NS]);
    sh(['ip', 'netns', 'add', POD]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'ul0');
    inNs('ip', 'link', 'set', 'ul0', 'up');
    inNs('ip', 'addr', 'add', '172.18.0.3/16', 'dev', 'eth0');
    inNs('ip', 'link', 'set', 'eth0', 'up');
    inNs('ip', 'link', 'add', 'cali1a2b3c4d5e6', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', POD);
    inNs('ip', 'link', 'set', 'cali1a2b3c4d5e6', 'up');
    inNs('ip', 'route', 'add', '10.244.1.5/32', 'dev', 'cali1a2b3c4d5e6', 'scope', 'link');
    inNs('ip', 'route', 'add', 'blackhole', '10.244.1.0/26');
    inPod('ip', 'link', 'set', 'lo', 'up');
    inPod('ip', 'addr', 'add', '10.244.1.5/32', 'dev', 'eth0');
    inPod('ip', 'link', 'set', 'eth0', 'up');
    inNs('iptables-nft', '-N', 'cali-FORWARD');
    inNs('iptables-nft', '-A', 'FORWARD', '-m', 'comment', '--comment', 'cali:wUHhoiAYhphO9Mso', '-j', 'cali-FORWARD');
    inNs('iptables-nft', '-A', 'cali-FORWARD', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
    inNs('iptables-legacy', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT');
    inNs('ipset', 'create', 'cali40all-ipam-pools', 'hash:net');
    inNs('ipset', 'add', 'cali40all-ipam-pools', '10.244.0.0/16');
    // Traffic through the conntrack-hooked namespace: an unanswered UDP datagram leaves an entry for 30 s.
    inNs('bash', '-c', 'echo probe > /dev/udp/172.18.0.9/5353');
    writeFileSync(
      path.join(tmp, 'bird.conf'),
      [
        'router id 172.18.0.3;',
        'protocol kernel kernel1 { learn; scan time 2; export none; }',
        'protocol device device1 { scan time 2; }',
        'protocol static static1 { route 10.244.1.0/26 blackhole; }',
        'protocol bgp Mesh_172_18_0_4 { local as 64512; neighbor 172.18.0.4 as 64512; multihop; import all; export all; }',
        '',
      ].join('\n'),
    );
    inNs('bird', '-c', path.join(tmp, 'bird.conf'), '-s', birdSocket, '-P', path.join(tmp, 'bird.pid'));
    for (const [port, file, body] of [
      [9091, 'metrics', '# TYPE felix_resync_state gauge\nfelix_resync_state 3\n'],
      [9099, 'readiness', 'felix ready\n'],
    ] as const) {
      const dir = path.join(tmp, `http-${port}`);
      mkdirSync(dir);
      writeFileSync(path.join(dir, file), body);
      const p = spawn('ip', ['netns', 'exec', NS, 'python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: dir, stdio: 'ignore' });
      servers.push(p);
    }
    writeFileSync(felixLog, `${'x'.repeat(500)}\n2025-06-02 08:14:02.010 [INFO][84] felix/int_dataplane.go 2585: Completed first update to dataplane.\nAuthorization: Bearer SeededLogToken0123456789\n`);
    for (let i = 0; i < 100; i++) {
      try {
        inNs('bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/9091 && exec 4<>/dev/tcp/127.0.0.1/9099');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  afterAll(async () => {
    for (const p of servers) {
      p.kill('SIGKILL');
      if (p.exitCode === null) await once(p, 'exit').catch(() => {});
    }
    try {
      const pid = Number(sh(['cat', path.join(tmp, 'bird.pid')]).trim());
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      /* bird not started */
    }
    for (const ns of [NS, POD]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('collects every artifact with canonical names, a verifiable manifest, and both iptables backends', async () => {
    const out = path.join(tmp, 'b1');
    const r = await collectNode({ outDir: out, nodeName: 'node-a', exec: netnsExec(NS), ...plan });
    const src = await openBundle(out);
    const { manifest } = readManifest(src);
    expect(manifest!.complete).toBe(true);
    expect(manifest!.source).toEqual({ kind: 'node', node: 'node-a' });
    expect(verifyManifest(src, manifest!)).toMatchObject({ ok: true, missing: [], mismatched: [], unlisted: [] });
    const expected = [
      'iptables',
      'iptables-legacy',
      'iptables-nft',
      'ip6tables',
      'ipset',
      'ip-addr',
      'ip-link',
      'ip-route',
      'ip6-route',
      'ip-rule',
      'ip6-rule',
      'ip-neigh',
      'bridge-fdb',
      'conntrack',
      'conntrack-stats',
      'sysctl',
      'bird-protocols',
      'bird-routes',
      'felix-metrics',
      'felix-health',
      'felix-log',
    ] as const;
    for (const k of expected) expect(src.has(`nodes/node-a/${NODE_FILE_NAMES[k]}`), k).toBe(true);
    expect(r.files.length).toBe(expected.length);
    const ipt = src.text('nodes/node-a/iptables-save.txt');
    expect(ipt).toMatch(/^:cali-FORWARD - \[\d+:\d+\]$/m);
    expect(ipt).toMatch(/^\[\d+:\d+\] -A FORWARD .*-j cali-FORWARD$/m);
    expect(src.text('nodes/node-a/iptables-legacy-save.txt')).toMatch(/--dport 22 -j ACCEPT/);
    expect(manifest!.notes!.some((n) => /nft backend holds Calico's rules.*legacy also has 1 rules/.test(n))).toBe(true);
    expect(manifest!.files.find((f) => f.path === 'nodes/node-a/iptables-save.txt')).toMatchObject({ command: 'iptables-nft-save -c', exitCode: 0 });
    expect(src.text('nodes/node-a/ipset.txt')).toMatch(/^add cali40all-ipam-pools 10\.244\.0\.0\/16$/m);
    expect(JSON.parse(src.text('nodes/node-a/ip-route.json'))).toEqual(expect.arrayContaining([expect.objectContaining({ dst: '10.244.1.5', dev: 'cali1a2b3c4d5e6' }), expect.objectContaining({ type: 'blackhole', dst: '10.244.1.0/26' })]));
    expect(src.text('nodes/node-a/conntrack.txt')).toMatch(/^udp .*dst=172\.18\.0\.9 sport=\d+ dport=5353 \[UNREPLIED\]/m);
    const sysctl = src.text('nodes/node-a/sysctl.txt');
    expect(sysctl).toMatch(/^net\.ipv4\.ip_forward = [01]$/m);
    expect(sysctl.split('\n').filter(Boolean).every((l) => /^net\.(core|ipv4|ipv6|netfilter|bridge)\./.test(l))).toBe(true);
    expect(manifest!.files.find((f) => f.path === 'nodes/node-a/sysctl.txt')!.command).toMatch(/^sysctl -a \(filtered to net\.core, net\.ipv4/);
    expect(src.text('nodes/node-a/bird-protocols.txt')).toMatch(/Mesh_172_18_0_4\s+BGP\s+master\s+(start|up)/);
    expect(src.text('nodes/node-a/bird-routes.txt')).toMatch(/10\.244\.1\.0\/26\s+blackhole \[static1/);
    expect(src.text('nodes/node-a/felix-metrics.txt')).toBe('# TYPE felix_resync_state gauge\nfelix_resync_state 3\n');
    expect(src.text('nodes/node-a/felix-health.txt')).toMatch(/^GET http:\/\/localhost:9099\/readiness -> 200\nfelix ready\n/);
    expect(manifest!.files.find((f) => f.path === 'nodes/node-a/felix-metrics.txt')!.command).toBe('GET http://localhost:9091/metrics (via curl)');
    // The log is tailed (last 200 bytes) and redacted.
    const log = src.text('nodes/node-a/felix.log');
    expect(log.length).toBeLessThanOrEqual(200);
    expect(log).toContain('Completed first update to dataplane');
    expect(log).not.toContain('SeededLogToken0123456789');
    expect(manifest!.files.find((f) => f.path === 'nodes/node-a/felix.log')!.redacted).toBe(true);
    // An HTTP error status is evidence, kept in the file.
    expect(src.text('nodes/node-a/felix-health.txt')).toMatch(/\nGET http:\/\/localhost:9099\/liveness -> 404\n/);
    // No BIRD for IPv6: recorded, not fatal.
    const failures = manifest!.failures!.map((f) => `${f.command}: ${f.error}`);
    expect(failures).toEqual([expect.stringMatching(/^birdc -s .*bird6\.ctl show protocols all: exit code 1: Unable to connect/), expect.stringMatching(/^birdc -s .*bird6\.ctl show route: exit code 1: Unable to connect/)]);
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'nodes']);
  });

  it('records a missing tool as a failure and goes on', async () => {
    const noBird: Exec = (cmd, args, o) =>
      cmd === 'birdcl' || cmd === 'birdc' ? localExec('caliscope-no-such-binary', args, o) : netnsExec(NS)(cmd, args, o);
    const out = path.join(tmp, 'b2');
    const r = await collectNode({ outDir: out, nodeName: 'node-a', exec: noBird, ...plan });
    const src = await openBundle(out);
    const { manifest } = readManifest(src);
    expect(manifest!.complete).toBe(true);
    expect(src.has('nodes/node-a/bird-protocols.txt')).toBe(false);
    expect(src.has('nodes/node-a/iptables-save.txt')).toBe(true);
    const birdFailures = r.failures.filter((f) => /bird/.test(f.command ?? ''));
    expect(birdFailures).toHaveLength(4);
    for (const f of birdFailures) expect(f.error).toBe('tool not installed (tried birdcl, birdc)');
  });

  it('kills a command that overruns its timeout and records it', async () => {
    // conntrack -L replaced by a real slow command, with a 200 ms timeout.
    const slow: Exec = (cmd, args, o) => (cmd === 'conntrack' && args[0] === '-L' ? netnsExec(NS)('sleep', ['10'], { ...o, timeoutMs: 200 }) : netnsExec(NS)(cmd, args, o));
    const out = path.join(tmp, 'b3');
    const started = Date.now();
    const r = await collectNode({ outDir: out, nodeName: 'node-a', exec: slow, ...plan });
    expect(Date.now() - started).toBeLessThan(8000);
    const f = r.failures.find((x) => x.command === 'conntrack -L');
    expect(f?.error).toMatch(/^timed out after \d+ ms$/);
    const src = await openBundle(out);
    expect(src.has('nodes/node-a/conntrack.txt')).toBe(false);
    expect(src.has('nodes/node-a/conntrack-stats.txt')).toBe(true);
    // No sleeper left behind.
    expect(() => execFileSync('pgrep', ['-f', '^sleep 10$'])).toThrow();
  });

  it('the fleet script run in the same namespace writes the same files as the per-command collector', async () => {
    const steps = planNodeSteps(plan);
    const nonce = newNonce();
    const rx = new FrameReceiver(steps, nonce);
    const child = spawn('ip', ['netns', 'exec', NS, 'sh', '-c', buildNodeScript(steps, nonce)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(rx.stdout);
    child.stderr.pipe(rx.stderr);
    await once(child, 'close');
    if (!rx.stdout.writableFinished) await once(rx.stdout, 'finish');
    const parsed = rx.finish();
    expect(parsed.complete).toBe(true);
    const out = path.join(tmp, 'b4');
    const w = await BundleWriter.create(out, { kind: 'test' });
    await assembleNode(parsed.results, steps, { sink: new BundleSink(w), nodeName: 'node-a' });
    await w.finish();
    const viaScript = await openBundle(out);
    const viaExec = await openBundle(path.join(tmp, 'b1'));
    expect(viaScript.paths()).toEqual(viaExec.paths());
    // Outputs that cannot change between the two runs are byte-identical; routes are compared as sets
    // (BIRD's kernel scan may add or age entries in between).
    for (const f of ['ipset.txt', 'ip-rule.json', 'ip6-rule.json', 'felix-metrics.txt']) expect(viaScript.text(`nodes/node-a/${f}`), f).toBe(viaExec.text(`nodes/node-a/${f}`));
    const dsts = (t: string) => new Set((JSON.parse(t) as { dst: string; table?: string }[]).filter((r) => !r.table || r.table === 'main').map((r) => r.dst));
    expect(dsts(viaScript.text('nodes/node-a/ip-route.json'))).toEqual(dsts(viaExec.text('nodes/node-a/ip-route.json')));
    const strip = (t: string) => t.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '[n]');
    expect(strip(viaScript.text('nodes/node-a/iptables-save.txt'))).toBe(strip(viaExec.text('nodes/node-a/iptables-save.txt')));
  });

  it('writes an anonymized .tar.gz: no node name or node/pod IP survives, CIDRs still match', async () => {
    const out = path.join(tmp, 'anon.tar.gz');
    const r = await collectNode({ outDir: out, nodeName: 'node-a', exec: netnsExec(NS), anonymize: true, ...plan });
    expect(r.anonymizeKey).toMatch(/^[0-9a-f]{64}$/);
    const src = await openBundle(out);
    const text = src.paths().map((p) => src.text(p)).join('\n');
    for (const s of ['node-a', '172.18.0.3', '10.244.1.5', '10.244.1.0/26']) expect(text.includes(s), s).toBe(false);
    const dir = src.paths().find((p) => p.startsWith('nodes/'))!.split('/')[1];
    expect(dir).toMatch(/^node-[0-9a-f]{10}$/);
    expect(readManifest(src).manifest!.source).toEqual({ kind: 'node', node: dir, anonymized: true });
    const routes = JSON.parse(src.text(`nodes/${dir}/ip-route.json`)) as { dst: string; type?: string }[];
    const block = routes.find((x) => x.type === 'blackhole')!.dst;
    const pod = routes.find((x) => x.dst.endsWith('.5'))!.dst;
    const { default: ipaddr } = await import('ipaddr.js');
    expect(ipaddr.parse(pod).match(ipaddr.parseCIDR(block))).toBe(true);
  });

  it('refuses node names that would leave the bundle', async () => {
    await expect(collectNode({ outDir: path.join(tmp, 'b5'), nodeName: '../../etc', exec: netnsExec(NS) })).rejects.toThrow(/invalid node name/);
  });
});

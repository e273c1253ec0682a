import { describe, it, expect } from 'vitest';
import { accuracyTable, compareFlow, kernelSide, probeToQuery, type FlowComparison, type SideAccount } from './accuracy.js';
import type { ProbeResult } from './probe.js';

const topo = { external: { ip: '10.0.0.100' } };
const probe = (p: Partial<ProbeResult>): ProbeResult => ({ from: 'frontend/web-1', to: 'backend/api-2', dstIp: '10.244.2.2', port: 8080, protocol: 'TCP', ok: false, detail: 'timeout (no SYN-ACK)', ms: 1000, ...p });

describe('probeToQuery', () => {
  it('builds the query the CLI would: pods by name, Services by name, the external host and NodePorts by address', () => {
    expect(probeToQuery(probe({}), topo)).toEqual({ from: 'frontend/web-1', to: 'backend/api-2', protocol: 'TCP', port: 8080 });
    expect(probeToQuery(probe({ to: 'svc:backend/api', dstIp: '10.96.10.20', port: 80 }), topo)).toEqual({ from: 'frontend/web-1', to: 'svc backend/api', protocol: 'TCP', port: 80 });
    expect(probeToQuery(probe({ to: 'external', dstIp: '10.0.0.100', port: 53, protocol: 'UDP' }), topo)).toEqual({ from: 'frontend/web-1', to: '10.0.0.100', protocol: 'UDP', port: 53 });
    expect(probeToQuery(probe({ from: 'external', to: 'svc:frontend/web', dstIp: '10.0.0.12', port: 30080 }), topo)).toEqual({ from: '10.0.0.100', to: '10.0.0.12', protocol: 'TCP', port: 30080 });
    // The probe's size is the ICMP payload; the trace's is the IP packet.
    expect(probeToQuery(probe({ protocol: 'ICMP', port: undefined, size: 1422 }), topo)).toEqual({ from: 'frontend/web-1', to: 'backend/api-2', protocol: 'ICMP', size: 1450 });
  });
});

describe('kernelSide', () => {
  it('ok is delivered; a wrong answering pod is a misdelivery; a trace account gives the place', () => {
    expect(kernelSide(probe({ ok: true }), undefined)).toEqual({ verdict: 'delivered' });
    expect(kernelSide(probe({ servedBy: 'frontend/web-1-dup', detail: 'answered by the wrong endpoint' }), undefined).where).toMatchObject({ kind: 'misdelivered', to: 'frontend/web-1-dup' });
    const k = kernelSide(probe({}), { forward: { kind: 'netfilter', node: 'node-b', hook: 'FORWARD', table: 'filter', chain: 'cali-tw-x', text: 'drop' }, packets: [] });
    expect(k).toMatchObject({ verdict: 'dropped', where: { direction: 'forward', kind: 'netfilter', node: 'node-b', chain: 'cali-tw-x' } });
    const header = { saddr: '10.244.1.1', daddr: '10.0.0.100' };
    const ext = kernelSide(probe({ to: 'external', dstIp: '10.0.0.100' }), { forward: { kind: 'delivered', node: 'node-a', to: 'external', header }, reply: { kind: 'not-sent' }, packets: [] });
    expect(ext.where).toMatchObject({ direction: 'reply', kind: 'outside' });
  });
});

describe('compareFlow', () => {
  const drop = (w: Partial<NonNullable<SideAccount['where']>>): SideAccount => ({ verdict: 'dropped', where: { direction: 'forward', kind: 'netfilter', node: 'node-b', table: 'filter', chain: 'cali-tw-x', detail: '', ...w } });
  it('agrees on equal verdicts and places', () => {
    expect(compareFlow({ verdict: 'delivered' }, { verdict: 'delivered' }).agree).toBe(true);
    expect(compareFlow(drop({}), drop({})).agree).toBe(true);
    expect(compareFlow(drop({ kind: 'stack', chain: undefined }), drop({ kind: 'stack', chain: undefined, table: 'main' })).agree).toBe(true);
  });
  it('disagrees on verdict, direction, kind, node or chain, and on indeterminate', () => {
    expect(compareFlow({ verdict: 'delivered' }, drop({})).agree).toBe(false);
    expect(compareFlow(drop({}), { verdict: 'indeterminate' }).agree).toBe(false);
    expect(compareFlow(drop({}), drop({ direction: 'reply' })).agree).toBe(false);
    expect(compareFlow(drop({}), drop({ kind: 'stack' })).agree).toBe(false);
    expect(compareFlow(drop({}), drop({ node: 'node-a' })).agree).toBe(false);
    expect(compareFlow(drop({}), drop({ chain: 'cali-fw-y' })).agree).toBe(false);
    expect(compareFlow(drop({ kind: 'unknown' }), drop({})).agree).toBe(false);
  });
  it('a loss on the wire may be blamed on either end of the link', () => {
    const k = drop({ kind: 'underlay', node: 'node-a', toward: 'node-c', chain: undefined });
    expect(compareFlow(k, drop({ kind: 'stack', node: 'node-c', chain: undefined })).agree).toBe(true);
    expect(compareFlow(k, drop({ kind: 'stack', node: 'node-b', chain: undefined })).agree).toBe(false);
  });
});

describe('accuracyTable', () => {
  it('one line per scenario, a total, and every disagreement with both sides', () => {
    const agree: FlowComparison = { probe: probe({ ok: true }), kernel: { verdict: 'delivered' }, caliscope: { verdict: 'delivered' }, agree: true };
    const bad: FlowComparison = { probe: probe({}), kernel: { verdict: 'dropped', where: { direction: 'forward', kind: 'netfilter', node: 'node-b', table: 'filter', chain: 'FORWARD', detail: '' } }, caliscope: { verdict: 'delivered' }, agree: false, why: 'kernel dropped, caliscope delivered' };
    const t = accuracyTable([{ mode: 'vxlan', scenario: 'baseline', flows: [agree, agree], ms: 1 }, { mode: 'vxlan', scenario: 'iptables-drop', flows: [agree, bad], ms: 1 }]);
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^mode\s+scenario\s+flows\s+dropped\s+agree\s+disagree$/);
    expect(lines[2]).toMatch(/^vxlan\s+baseline\s+2\s+0\s+2\s+0$/);
    expect(lines[3]).toMatch(/^vxlan\s+iptables-drop\s+2\s+1\s+1\s+1$/);
    expect(lines[4]).toMatch(/^all\s+2 scenarios\s+4\s+1\s+3\s+1$/);
    expect(t).toContain('vxlan iptables-drop: frontend/web-1 -> backend/api-2 TCP/8080: kernel dropped [forward netfilter node-b filter/FORWARD] | caliscope delivered — kernel dropped, caliscope delivered');
  });
});

/**
 * component.calico-node-not-ready: calico-node (Felix + BIRD + confd) is not working on a node:
 * its pod is not Ready or not Running in the cluster resources, a node has no calico-node pod
 * while others do (DaemonSet not scheduled there), `calicoctl node status` says "Calico process
 * is not running", or Felix's health endpoint answered 503. Seeds C1, C4, C12.
 */
import type { Evidence } from '../../model/evidence.js';
import type { Pod } from '../../model/resources.js';
import type { Check, CheckResult, Finding } from '../types.js';
import { calicoNamespace, calicoNodeLogs, dedupe, ev, fieldEv, isCalicoNodePod, listText, notChecked, remediation, resEv } from './common.js';

const ID = 'component.calico-node-not-ready';

function podProblem(p: Pod): string | undefined {
  if (p.metadata.deletionTimestamp) return `is being deleted (since ${p.metadata.deletionTimestamp})`;
  if (p.status.phase && p.status.phase !== 'Running') return `is ${p.status.phase}`;
  if (p.status.ready === false) {
    const c = p.status.conditions.find((x) => x.type === 'Ready' || x.type === 'ContainersReady');
    return `is not Ready${c?.reason ? ` (${c.reason})` : ''}`;
  }
  return undefined;
}

export const componentCalicoNodeNotReady: Check = {
  id: ID,
  category: 'components',
  severity: 'error',
  title: 'calico-node is not ready on a node',
  seeds: ['C1', 'C4', 'C12'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const c = b.cluster;
    const out: CheckResult = { findings: [], notChecked: [] };
    const pods = c.pods.filter(isCalicoNodePod);
    const ns = calicoNamespace(c);
    const byNode = new Map<string, { problems: string[]; evidence: Evidence[]; pod?: Pod }>();
    const add = (node: string, problem: string, evidence: Evidence[], pod?: Pod) => {
      const e = byNode.get(node) ?? { problems: [], evidence: [] };
      e.problems.push(problem);
      e.evidence.push(...evidence);
      e.pod ??= pod;
      byNode.set(node, e);
    };
    for (const p of pods) {
      const why = podProblem(p);
      if (!why) continue;
      const node = p.spec.nodeName ?? '(unscheduled)';
      const evs = [resEv(b, p.source, `Pod ${p.metadata.namespace}/${p.metadata.name} on ${node}`)];
      for (const needle of ['CrashLoopBackOff', 'restartCount', 'type: Ready']) {
        const e = fieldEv(b, p.source, needle);
        if (e.line !== p.source.line) evs.push(e);
      }
      add(node, `pod ${p.metadata.name} ${why}`, evs, p);
    }
    if (pods.length > 0) {
      const withPod = new Set(pods.map((p) => p.spec.nodeName));
      for (const kn of c.nodes) {
        if (withPod.has(kn.metadata.name)) continue;
        add(kn.metadata.name, `no calico-node pod runs on it (${pods.length} others exist: the DaemonSet is not scheduled here — taints, nodeSelector)`, [resEv(b, kn.source, `Node ${kn.metadata.name}`)]);
      }
    }
    let sources = pods.length > 0 ? 1 : 0;
    for (const n of b.nodes) {
      if (n.nodeStatus) {
        sources++;
        if (n.nodeStatus.running === false) {
          const art = n.artifacts['calicoctl-node-status'] ?? `nodes/${n.name}/calicoctl-node-status.txt`;
          const lineNo = (b.rawText(art) ?? '').split('\n').findIndex((l) => /Calico process is not running/.test(l)) + 1;
          add(n.name, 'calicoctl node status says "Calico process is not running."', [ev(b, n.name, art, lineNo || undefined)]);
        }
      }
      if (n.felixHealth) {
        sources++;
        const lines = n.felixHealth.text.split('\n');
        lines.forEach((l, i) => {
          const m = /^GET (\S+) -> (\d{3})/.exec(l);
          if (m && Number(m[2]) >= 500) add(n.name, `Felix's ${/liveness/.test(m[1]) ? 'liveness' : 'readiness'} endpoint answered ${m[2]}`, [ev(b, n.name, n.felixHealth!.artifact, i + 1), ...(lines[i + 1] ? [ev(b, n.name, n.felixHealth!.artifact, i + 2)] : [])]);
        });
      }
    }
    if (sources === 0) {
      out.notChecked.push(notChecked(ID, 'no calico-node pods in the cluster resources, and no calicoctl node status or Felix health capture'));
      return out;
    }
    for (const [node, x] of byNode) {
      const f: Finding = {
        check: ID,
        severity: 'error',
        category: 'components',
        title: `calico-node is not ready on ${node}`,
        explanation: `On ${node}: ${listText(x.problems, 4)}. Without a working calico-node, Felix does not program routes, IP sets and policy for new or changed pods there, and BIRD does not exchange routes: pods on ${node} lose connectivity as the cluster changes.`,
        node: b.nodes.some((n) => n.name === node) ? node : undefined,
        subject: x.pod ? `${x.pod.metadata.namespace}/${x.pod.metadata.name}` : node,
        evidence: dedupe(x.evidence),
        remediation: remediation(
          `Read why calico-node fails on ${node} (previous container's log, events) and fix it: datastore access, IP autodetection, BIRD/confd errors, node resources.`,
          [`kubectl get pods -n ${ns} -l k8s-app=calico-node -o wide`, `kubectl describe pod -n ${ns} ${x.pod?.metadata.name ?? `<calico-node pod on ${node}>`}`, `${calicoNodeLogs(c, node)} --previous`, `calicoctl node status  # on ${node}`],
          [`kubectl delete pod -n ${ns} ${x.pod?.metadata.name ?? `<calico-node pod on ${node}>`}  # after fixing the cause`],
        ),
      };
      out.findings.push(f);
    }
    return out;
  },
};

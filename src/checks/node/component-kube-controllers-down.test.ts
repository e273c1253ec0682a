import { describe, expect, it } from 'vitest';
import { check, healthyCluster } from '../../../test/checks/bundle-builder.js';
import { componentKubeControllersDown } from './component-kube-controllers-down.js';

describe('component.kube-controllers-down', () => {
  it('is silent when calico-kube-controllers is Ready', () => {
    expect(check(componentKubeControllersDown, healthyCluster({ calicoSystem: true })).findings).toEqual([]);
  });

  it('reports it not Ready, with the CrashLoopBackOff line', () => {
    const c = healthyCluster({ calicoSystem: true });
    c.pods.find((p) => p.name.startsWith('calico-kube-controllers'))!.crashLoop = true;
    const f = check(componentKubeControllersDown, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', subject: 'calico-system/calico-kube-controllers-7d9c6b5f4-x2x8q' });
    expect(f.title).toBe('calico-kube-controllers is not ready (Running, ContainersNotReady)');
    expect(f.evidence.map((e) => e.text)).toContain('reason: CrashLoopBackOff');
  });

  it('warns when Calico runs but there is no calico-kube-controllers pod', () => {
    const c = healthyCluster({ calicoSystem: true });
    c.pods = c.pods.filter((p) => !p.name.startsWith('calico-kube-controllers'));
    const f = check(componentKubeControllersDown, c).findings[0];
    expect(f).toMatchObject({ severity: 'warning', title: 'No calico-kube-controllers pod in the cluster' });
  });

  it('says when the bundle has no Calico pods at all', () => {
    expect(check(componentKubeControllersDown, healthyCluster()).notChecked).toEqual([{ check: 'component.kube-controllers-down', reason: 'no pods of calico-system (or calico-node pods) in the cluster resources' }]);
  });
});

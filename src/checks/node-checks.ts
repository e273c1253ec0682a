import type { Check } from './types.js';
import { routeMissingWorkload } from './node/route-missing-workload.js';
import { routeWrongInterface } from './node/route-wrong-interface.js';
import { routeBlackholeShadow } from './node/route-blackhole-shadow.js';
import { routeRemoteBlockMissing } from './node/route-remote-block-missing.js';
import { ifaceDown } from './node/iface-down.js';
import { ifaceProxyArpOff } from './node/iface-proxy-arp-off.js';
import { sysctlForwardingOff } from './node/sysctl-forwarding-off.js';
import { sysctlRpFilterStrict } from './node/sysctl-rp-filter-strict.js';
import { tunnelMissing } from './node/tunnel-missing.js';
import { tunnelVxlanFdbMissing } from './node/tunnel-vxlan-fdb-missing.js';
import { mtuMismatch } from './node/mtu-mismatch.js';
import { nodeNoDefaultRoute } from './node/node-no-default-route.js';
import { iptablesForeignDrop } from './node/iptables-foreign-drop.js';
import { iptablesForwardPolicyDrop } from './node/iptables-forward-policy-drop.js';
import { natOutgoingDisabled } from './node/nat-outgoing-disabled.js';
import { conntrackNearFull } from './node/conntrack-near-full.js';
import { felixNotInSync } from './node/felix-not-in-sync.js';
import { felixDataplaneFailures } from './node/felix-dataplane-failures.js';
import { componentCalicoNodeNotReady } from './node/component-calico-node-not-ready.js';
import { componentKubeControllersDown } from './node/component-kube-controllers-down.js';
import { perfEncapsulationOverhead } from './node/perf-encapsulation-overhead.js';
import { perfIptablesScale } from './node/perf-iptables-scale.js';

/**
 * Checks of one node's dataplane: routes, interfaces, sysctls, tunnels, rules, NAT, conntrack, Felix, performance.
 * Order = listing order of equally severe findings: the precise dataplane breakage first (it names
 * the broken route, interface or rule), then the component states that usually explain it.
 */
export const NODE_CHECKS: Check[] = [
  routeMissingWorkload,
  routeWrongInterface,
  routeBlackholeShadow,
  routeRemoteBlockMissing,
  iptablesForeignDrop,
  iptablesForwardPolicyDrop,
  ifaceDown,
  ifaceProxyArpOff,
  sysctlForwardingOff,
  sysctlRpFilterStrict,
  tunnelMissing,
  tunnelVxlanFdbMissing,
  mtuMismatch,
  natOutgoingDisabled,
  felixNotInSync,
  felixDataplaneFailures,
  componentCalicoNodeNotReady,
  componentKubeControllersDown,
  conntrackNearFull,
  nodeNoDefaultRoute,
  perfIptablesScale,
  perfEncapsulationOverhead,
];

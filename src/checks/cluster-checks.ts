import type { Check } from './types.js';
import { policySelectorInvalid } from './cluster/policy-selector-invalid.js';
import { policySelectorMatchesNothing } from './cluster/policy-selector-matches-nothing.js';
import { policyWrongNamespace } from './cluster/policy-wrong-namespace.js';
import { policyShadowed } from './cluster/policy-shadowed.js';
import { policyDefaultDenyNoDns } from './cluster/policy-default-deny-no-dns.js';
import { policyIsolatedEndpoint } from './cluster/policy-isolated-endpoint.js';
import { bgpPeerNotEstablished } from './cluster/bgp-peer-not-established.js';
import { bgpAsMismatch } from './cluster/bgp-as-mismatch.js';
import { bgpPortBlocked } from './cluster/bgp-port-blocked.js';
import { bgpRoutesNotAdvertised } from './cluster/bgp-routes-not-advertised.js';
import { ippoolDisabled } from './cluster/ippool-disabled.js';
import { ipamPoolExhausted } from './cluster/ipam-pool-exhausted.js';
import { ipamPoolNearExhaustion } from './cluster/ipam-pool-near-exhaustion.js';
import { ipamLeakedAllocation } from './cluster/ipam-leaked-allocation.js';
import { ipamDuplicateIp } from './cluster/ipam-duplicate-ip.js';
import { ipamBlocksPerHostLimit } from './cluster/ipam-blocks-per-host-limit.js';
import { ipamOrphanBlockAffinity } from './cluster/ipam-orphan-block-affinity.js';
import { dataplaneIpsetStale } from './cluster/dataplane-ipset-stale.js';
import { dataplanePolicyChainMissing } from './cluster/dataplane-policy-chain-missing.js';
import { dataplaneEndpointChainMissing } from './cluster/dataplane-endpoint-chain-missing.js';

/**
 * Checks of cluster intent and state: policy, BGP, IPAM, intent-vs-programmed dataplane.
 * Order = listing order of equally severe findings: the dataplane and BGP causes of outages first.
 */
export const CLUSTER_CHECKS: Check[] = [
  dataplaneEndpointChainMissing,
  dataplanePolicyChainMissing,
  dataplaneIpsetStale,
  bgpPeerNotEstablished,
  bgpPortBlocked,
  bgpAsMismatch,
  bgpRoutesNotAdvertised,
  ipamDuplicateIp,
  ipamPoolExhausted,
  ippoolDisabled,
  ipamBlocksPerHostLimit,
  ipamPoolNearExhaustion,
  ipamLeakedAllocation,
  ipamOrphanBlockAffinity,
  policySelectorInvalid,
  policyDefaultDenyNoDns,
  policyWrongNamespace,
  policySelectorMatchesNothing,
  policyShadowed,
  policyIsolatedEndpoint,
];

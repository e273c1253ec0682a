import type { Check } from './types.js';

/** Checks of cluster intent and state: policy, BGP, IPAM, intent-vs-programmed dataplane. */
export const CLUSTER_CHECKS: Check[] = [];

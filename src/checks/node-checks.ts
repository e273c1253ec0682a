import type { Check } from './types.js';

/** Checks of one node's dataplane: routes, interfaces, sysctls, tunnels, rules, NAT, conntrack, Felix, performance. */
export const NODE_CHECKS: Check[] = [];

/**
 * Every check, in the order findings of equal severity are listed. One module per check; the
 * two lists are kept by area so that adding a check is adding a module and one line.
 */
import type { Check } from './types.js';
import { NODE_CHECKS } from './node-checks.js';
import { CLUSTER_CHECKS } from './cluster-checks.js';

export const ALL_CHECKS: Check[] = [...NODE_CHECKS, ...CLUSTER_CHECKS];

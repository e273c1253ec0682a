/** Every check, in the order findings of equal severity are listed. One module per check. */
import type { Check } from './types.js';

export const ALL_CHECKS: Check[] = [];

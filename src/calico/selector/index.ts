/** Calico label selectors: parsing, canonical form / IDs, compiled matching, lint and hints. */
export * from './ast.js';
export { base64UrlNoPad, canonicalOf, makeUniqueId, prettyOf, selectorUid } from './canonical.js';
export {
  type CompiledMatcher,
  type LabelGetter,
  type LabelSource,
  compileNode,
  overlayGetter,
  recordGetter,
} from './compile.js';
export { type ParseAstResult, parseAst } from './parser.js';
export {
  MAX_LABEL_LENGTH,
  type SelectorError,
  type Token,
  type TokenKind,
  isValidLabelKey,
  tokenize,
} from './tokenizer.js';
export {
  type EntityRuleSelectors,
  LABEL_NAMESPACE,
  LABEL_ORCHESTRATOR,
  LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX,
  type ParseSelectorResult,
  type RuleSelectors,
  SERVICE_ACCOUNT_LABEL_PREFIX,
  type Selector,
  type ServiceAccountMatch,
  andSelectors,
  canonicalWithLabelPrefix,
  mustParseSelector,
  namespaceSelectorToEndpointSelector,
  parseSelector,
  parseSelectorCached,
  ruleSelectorFor,
  ruleSelectorsFor,
  selectorFromAst,
  serviceAccountSelector,
} from './selector.js';
export {
  type CheckSelectorOutput,
  type LintResult,
  checkSelector,
  isKubernetesLabelKey,
  isKubernetesLabelValue,
  lenientParse,
  lintSelector,
  selectorWarnings,
} from './lint.js';
export {
  type NearMissCandidate,
  type NearMissHint,
  type NearMissKind,
  type NearMissOptions,
  editDistance,
  nearMisses,
} from './nearmiss.js';

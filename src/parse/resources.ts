/**
 * Kubernetes and Calico resources from the bundle's `cluster/` files: `kubectl get -o yaml|json`
 * and `calicoctl get -o yaml|json` output, single objects, `List`/`*List` kinds, multi-document
 * YAML, bare arrays (calicoctl prints one when several resource types are asked for), and both
 * `projectcalico.org/v3` and the KDD storage form `crd.projectcalico.org/v1`.
 *
 * Two stages:
 * - `parseResourceFile` finds every object in one file with its line (YAML through the `yaml`
 *   library's node ranges; JSON through `JSON.parse` plus a bracket scanner that finds where each
 *   document and each List item starts). A broken document or List item is reported and skipped;
 *   the rest of the file is still read. Secrets and credential-looking values are redacted here,
 *   before anything is stored.
 * - `buildClusterResources` classifies, normalises and validates the objects into the typed
 *   model (src/model/resources.ts). Validation follows Calico's and Kubernetes' own rules where
 *   they matter for troubleshooting (Calico actions, protocols and policy types are
 *   case-sensitive; Felix configuration enums are not). Problems are issues naming file, line
 *   (of the offending field when the file text is available) and object; nothing is thrown.
 */
import { Composer, LineCounter, Parser, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode, type Tags } from 'yaml';
import ipaddr from 'ipaddr.js';
import { IssueSink, truncateForReport, type ParseIssue, type Parsed } from '../model/evidence.js';
import {
  PROTOCOL_NUMBERS,
  REDACTED,
  RULE_ACTIONS,
  emptyClusterResources,
  ipamBlockNameForCidr,
  objectRef,
  type AllocationAttribute,
  type BGPFilterRule,
  type BirdDaemonStatus,
  type CalicoPolicySpec,
  type CalicoRule,
  type ClusterResourceArrayKey,
  type ClusterResources,
  type ContainerPort,
  type EncapMode,
  type EndpointAddress,
  type EndpointPortSpec,
  type EntityRule,
  type IcmpMatch,
  type K8sPeer,
  type K8sPolicyPort,
  type K8sPolicyRule,
  type LabelSelector,
  type LabelSelectorOperator,
  type NodeCalicoAnnotations,
  type NodeStatusPeer,
  type NodeStatusRoute,
  type ObjectMeta,
  type ObjectReference,
  type PolicyType,
  type PortMatch,
  type PortSpec,
  type ProtocolName,
  type ProtocolValue,
  type ProtoPortSpec,
  type ResourceForm,
  type ResourceObject,
  type ResourceSource,
  type RuleAction,
  type SecretKeyRef,
  type StagedAction,
  type TypedResource,
  type BGPConfigurationSpec,
  type BGPPeerSpec,
  type BlockAffinitySpec,
  type CalicoNodeSpec,
  type CalicoNodeStatusFields,
  type CalicoNodeStatusSpec,
  type CalicoNodeStatusStatus,
  type ClusterInformationSpec,
  type EndpointSliceSpec,
  type EndpointsSpec,
  type FelixConfigurationSpec,
  type HostEndpointSpec,
  type IPAMBlockSpec,
  type IPAMConfigSpec,
  type IPPoolAllowedUse,
  type IPPoolSpec,
  type K8sNetworkPolicySpec,
  type K8sNodeSpec,
  type K8sNodeStatus,
  type KubeControllersConfigurationSpec,
  type PodSpec,
  type PodStatus,
  type ProfileSpec,
  type ServicePort,
  type ServiceSpec,
  type TierSpec,
  type WorkloadEndpointSpec,
} from '../model/resources.js';
import { looksBinary } from './lines.js';

type Json = Record<string, unknown>;
type Path = (string | number)[];

// =============================================================================================
// Stage 1: one file → objects

/** Line lookup by character offset (binary search over line starts). */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    let i = text.indexOf('\n');
    while (i !== -1) {
      this.starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
  }
  /** 1-based line of a 0-based offset. */
  line(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
  col(offset: number): number {
    return offset - this.starts[this.line(offset) - 1] + 1;
  }
}

interface Span {
  start: number;
  end: number;
}

/** Where a value sits in the file; `items` are the spans of its List items when known. */
interface Placement {
  docIndex: number;
  span?: Span;
  line: number;
  col?: number;
  itemSpan?: (i: number) => { span: Span; line: number; col: number; node?: YamlNode } | undefined;
  /** YAML only: the object's node and a line lookup, to pre-locate rule lines while the AST is at hand. */
  node?: YamlNode;
  lineOf?: (offset: number) => number;
}

export function parseResourceFile(text: string, artifact: string): Parsed<ResourceObject[]> {
  const sink = new IssueSink(artifact);
  const out: ResourceObject[] = [];
  try {
    if (text.trim() === '') {
      sink.warn(0, 'empty file: no objects');
      return { value: out, issues: sink.finish() };
    }
    if (looksBinary(text)) {
      sink.error(0, 'binary content, not YAML or JSON');
      return { value: out, issues: sink.finish() };
    }
    const first = text.replace(/^\uFEFF/, '').trimStart()[0];
    if (first === '{' || first === '[') {
      const json = readJson(text, artifact);
      // A YAML flow mapping (`{a: b}`) also starts with `{`: when JSON reads nothing, YAML may.
      if (json.out.length === 0 && json.sink.issues.some((i) => i.severity === 'error')) {
        const yaml = readYaml(text, artifact);
        if (yaml.out.length > 0 && !yaml.sink.issues.some((i) => i.severity === 'error')) return { value: yaml.out, issues: yaml.sink.finish() };
      }
      noObjectsSummary(json.out, json.sink);
      return { value: json.out, issues: json.sink.finish() };
    }
    const yaml = readYaml(text, artifact);
    noObjectsSummary(yaml.out, yaml.sink);
    return { value: yaml.out, issues: yaml.sink.finish() };
  } catch (e) {
    // Defence in depth: a library failure (e.g. stack exhaustion on absurd nesting) is an issue, not a crash.
    sink.error(0, `could not read the file: ${(e as Error).message}`);
    return { value: out, issues: sink.finish() };
  }
}

/** One file-level line when nothing at all could be read, so a wrong file is obvious in the report. */
function noObjectsSummary(out: ResourceObject[], sink: IssueSink): void {
  if (out.length === 0 && sink.issues.some((i) => i.severity === 'error')) {
    sink.error(0, 'no Kubernetes objects could be read from this file (expected `kubectl get`/`calicoctl get` -o yaml|json output)');
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

interface JsonDoc extends Span {
  complete: boolean;
  container: boolean;
  items: Span[];
  /** Offset where the items array starts (the text before it holds a List's kind/apiVersion). */
  itemsAt?: number;
}

const enum Ch {
  Tab = 9,
  Lf = 10,
  Cr = 13,
  Space = 32,
  Quote = 34,
  Comma = 44,
  Colon = 58,
  LBracket = 91,
  Backslash = 92,
  RBracket = 93,
  LBrace = 123,
  RBrace = 125,
  Bom = 0xfeff,
}

function isWs(c: number): boolean {
  return c === Ch.Space || c === Ch.Lf || c === Ch.Cr || c === Ch.Tab || c === Ch.Bom;
}

/** Index after the closing quote of the string starting at `i` (or text length when unterminated). */
function skipString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const k = text.indexOf('"', j);
    if (k < 0) return text.length;
    let b = k - 1;
    let backslashes = 0;
    while (b > i && text.charCodeAt(b) === Ch.Backslash) {
      backslashes++;
      b--;
    }
    if (backslashes % 2 === 0) return k + 1;
    j = k + 1;
  }
}

/**
 * Splits JSON text into top-level values (a file may hold several concatenated documents) and
 * finds the spans of the elements of a root object's `items` array (or of a root array). It only
 * tracks brackets and strings; `JSON.parse` does the validating.
 */
function scanJson(text: string): JsonDoc[] {
  const docs: JsonDoc[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWs(c)) {
      i++;
      continue;
    }
    if (c === Ch.LBrace || c === Ch.LBracket) {
      const d = scanContainer(text, i);
      docs.push(d);
      i = d.end;
      continue;
    }
    // Not a JSON container: take everything up to the next line that starts one.
    const start = i;
    const re = /\n[ \t]*[{[]/g;
    re.lastIndex = i;
    const m = re.exec(text);
    i = m ? m.index + 1 : n;
    let end = i;
    while (end > start && isWs(text.charCodeAt(end - 1))) end--;
    docs.push({ start, end, complete: true, container: false, items: [] });
  }
  return docs;
}

function scanContainer(text: string, start: number): JsonDoc {
  const n = text.length;
  const stack: number[] = [];
  const items: Span[] = [];
  const rootIsArray = text.charCodeAt(start) === Ch.LBracket;
  let itemsDepth = -1;
  let itemsAt: number | undefined;
  let itemStart = -1;
  let expectKey = false;
  let lastKeyWasItems = false;
  let lastSig = start;
  let i = start;
  const valueStart = (pos: number) => {
    if (stack.length === itemsDepth && itemStart < 0) itemStart = pos;
  };
  const endItem = () => {
    if (stack.length === itemsDepth && itemStart >= 0) {
      items.push({ start: itemStart, end: lastSig + 1 });
      itemStart = -1;
    }
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isWs(c)) {
      i++;
      continue;
    }
    switch (c) {
      case Ch.Quote: {
        const e = skipString(text, i);
        if (expectKey && stack.length === 1) lastKeyWasItems = e - i === 7 && text.startsWith('"items"', i);
        else valueStart(i);
        lastSig = e - 1;
        i = e;
        continue;
      }
      case Ch.LBrace:
      case Ch.LBracket:
        valueStart(i);
        stack.push(c);
        if (c === Ch.LBracket && ((stack.length === 1 && rootIsArray) || (stack.length === 2 && stack[0] === Ch.LBrace && lastKeyWasItems && !expectKey))) {
          itemsDepth = stack.length;
          itemsAt = i;
        }
        expectKey = c === Ch.LBrace;
        lastSig = i;
        i++;
        continue;
      case Ch.RBrace:
      case Ch.RBracket:
        endItem();
        if (stack.length === itemsDepth) itemsDepth = -1;
        stack.pop();
        lastSig = i;
        i++;
        expectKey = false;
        if (stack.length === 0) return { start, end: i, complete: true, container: true, items, itemsAt };
        continue;
      case Ch.Comma:
        endItem();
        expectKey = stack[stack.length - 1] === Ch.LBrace;
        i++;
        continue;
      case Ch.Colon:
        expectKey = false;
        i++;
        continue;
      default:
        valueStart(i);
        lastSig = i;
        i++;
    }
  }
  return { start, end: n, complete: false, container: true, items, itemsAt };
}

/** Offset of a `JSON.parse` error within the parsed text, when V8 says. */
function jsonErrorOffset(e: unknown): number | undefined {
  const m = /at position (\d+)/.exec((e as Error).message ?? '');
  return m ? Number(m[1]) : undefined;
}

function jsonErrorReason(e: unknown): string {
  return String((e as Error).message ?? e)
    .replace(/, ".*" is not valid JSON$/s, '')
    .replace(/ in JSON at position \d+( \(line \d+ column \d+\))?/, '');
}

function readJson(text: string, artifact: string): { out: ResourceObject[]; sink: IssueSink } {
  const sink = new IssueSink(artifact);
  const out: ResourceObject[] = [];
  const lines = new LineIndex(text);
  const docs = scanJson(text);
  docs.forEach((d, docIndex) => {
    const slice = text.slice(d.start, d.end);
    const line = lines.line(d.start);
    const place: Placement = {
      docIndex,
      span: d,
      line,
      col: lines.col(d.start),
      itemSpan: (i) => {
        const s = d.items[i];
        return s && { span: s, line: lines.line(s.start), col: lines.col(s.start) };
      },
    };
    if (!d.container) {
      sink.error(line, `not JSON: ${truncateForReport(slice.split('\n', 1)[0])}`);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(slice);
    } catch (e) {
      const pos = jsonErrorOffset(e);
      const what = d.items.length === 0 ? guessIdentity(slice) : '';
      const at = pos !== undefined ? lines.line(d.start + pos) : line;
      if (d.items.length === 0) {
        if (!d.complete) sink.error(at, `${what}truncated JSON document (starts at line ${line}, never closed); skipped`);
        else sink.error(at, `${what}invalid JSON: ${jsonErrorReason(e)}; document skipped`);
        return;
      }
      // Salvage the List items that are complete and valid on their own.
      const head = text.slice(d.start, d.itemsAt ?? d.start);
      const listKind = /"kind"\s*:\s*"([^"]*)"/.exec(head)?.[1];
      const listApi = /"apiVersion"\s*:\s*"([^"]*)"/.exec(head)?.[1];
      let read = 0;
      let failed = 0;
      d.items.forEach((s, itemIndex) => {
        let item: unknown;
        try {
          item = JSON.parse(text.slice(s.start, s.end));
        } catch (ie) {
          failed++;
          const ip = jsonErrorOffset(ie);
          sink.error(ip !== undefined ? lines.line(s.start + ip) : lines.line(s.start), `${guessIdentity(text.slice(s.start, Math.min(s.end, s.start + 4096)))}list item ${itemIndex}: invalid JSON: ${jsonErrorReason(ie)}; item skipped`);
          return;
        }
        const before = out.length;
        collectItem(item, listApi, listKind, { ...place, line: lines.line(s.start) }, itemIndex, sink, out);
        read += out.length - before;
      });
      if (!d.complete) {
        const tail = text.slice(d.items.length ? d.items[d.items.length - 1].end : (d.itemsAt ?? d.start), d.end);
        const lost = guessIdentity(tail.replace(/^[\s,]*/, ''));
        sink.error(lines.line(Math.max(d.start, d.end - 1)), `truncated JSON List (starts at line ${line}, never closed): read ${read} complete items${lost ? `; the cut one (${lost.slice(0, -2)}) is lost` : ''}`);
      }
      else if (failed === 0) sink.error(at, `${what}invalid JSON: ${jsonErrorReason(e)}; the ${read} list items were read`);
      return;
    }
    collectValue(value, place, sink, out);
  });
  return { out, sink };
}

/** `Kind ns/name: ` guessed from raw text, for messages about text that does not parse. */
function guessIdentity(raw: string): string {
  const head = raw.slice(0, 4096);
  const kind = /"kind"\s*:\s*"([^"]{1,80})"/.exec(head)?.[1] ?? /(?:^|\n)\s*kind:\s*(\S{1,80})/.exec(head)?.[1];
  const name = /"name"\s*:\s*"([^"]{1,253})"/.exec(head)?.[1] ?? /(?:^|\n)\s+name:\s*(\S{1,253})/.exec(head)?.[1];
  if (!kind && !name) return '';
  return `${kind ?? 'object'}${name ? ` ${name}` : ''}: `;
}

// ---------------------------------------------------------------------------------------------
// YAML

/**
 * YAML as kubectl and calicoctl read it: they convert YAML to JSON with go-yaml v2 (YAML 1.1), so
 * an unquoted `yes`/`on` is a boolean and `0755` octal. Timestamps stay strings (as go-yaml gives
 * them for untyped values), and neither sexagesimal numbers nor `!!binary` are decoded: an
 * unquoted port range `8000:8100` must stay the string Calico expects.
 */
const YAML_OPTIONS = {
  version: '1.1' as const,
  // The library would print process warnings (e.g. for a map used as a key); problems are issues here.
  logLevel: 'error' as const,
  customTags: (tags: Tags) =>
    tags.filter((t) => {
      const tag = (t as { tag?: string }).tag;
      return tag !== 'tag:yaml.org,2002:timestamp' && tag !== 'tag:yaml.org,2002:binary' && (t as { format?: string }).format !== 'TIME';
    }),
};

/** First line of a yaml-library error message, without its own position suffix. */
function yamlReason(message: string): string {
  return message.split('\n', 1)[0].replace(/ at line \d+, column \d+:?$/, '');
}

function readYaml(text: string, artifact: string): { out: ResourceObject[]; sink: IssueSink } {
  const sink = new IssueSink(artifact);
  const out: ResourceObject[] = [];
  const lc = new LineCounter();
  const parser = new Parser(lc.addNewLine);
  const composer = new Composer({ ...YAML_OPTIONS, uniqueKeys: true });
  const lineOf = (offset: number) => lc.linePos(offset).line;
  const colOf = (offset: number) => lc.linePos(offset).col;
  let docIndex = 0;
  for (const doc of composer.compose(parser.parse(text), true, text.length)) {
    readYamlDoc(doc, docIndex++, text, lineOf, colOf, sink, out);
  }
  return { out, sink };
}

function readYamlDoc(
  doc: Document.Parsed,
  docIndex: number,
  text: string,
  lineOf: (o: number) => number,
  colOf: (o: number) => number,
  sink: IssueSink,
  out: ResourceObject[],
): void {
  const contents = doc.contents as YamlNode | null;
  const errors = doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY');
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY') sink.warn(lineOf(e.pos[0]), `duplicate key (the last value is used): ${yamlReason(e.message)}`);
  }
  for (const w of doc.warnings) sink.warn(lineOf(w.pos[0]), `YAML: ${yamlReason(w.message)}`);
  const range = contents?.range;
  const itemsSeq = contents && (isSeq(contents) ? contents : isMap(contents) ? contents.get('items', true) : undefined);
  const itemNodes = itemsSeq && isSeq(itemsSeq) ? (itemsSeq.items as YamlNode[]) : undefined;
  const place: Placement = {
    docIndex,
    span: range ? { start: range[0], end: range[1] } : undefined,
    line: range ? lineOf(range[0]) : lineOf(doc.range[0]),
    col: range ? colOf(range[0]) : 1,
    itemSpan: (i) => {
      const node = itemNodes?.[i];
      const r = node?.range;
      return r ? { span: { start: r[0], end: r[1] }, line: lineOf(r[0]), col: colOf(r[0]), node } : undefined;
    },
    node: contents ?? undefined,
    lineOf,
  };

  if (errors.length > 0) {
    const first = errors[0];
    const firstAt = first.pos[0];
    const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : '';
    const holder = itemNodes?.filter((n) => n?.range && n.range[0] <= firstAt).pop();
    const eol = text.indexOf('\n', firstAt);
    const what = guessIdentity(text.slice(holder?.range?.[0] ?? range?.[0] ?? doc.range[0], eol < 0 ? text.length : eol));
    // List items that end before the first error were read before anything went wrong; later
    // ones may have been attached to the wrong parent by the error, so they are not trusted.
    if (itemNodes && itemNodes.length > 0 && contents) {
      const js = contents && isMap(contents) ? safeToJs(doc, contents, ['apiVersion', 'kind']) : undefined;
      const listApi = typeof js?.apiVersion === 'string' ? js.apiVersion : undefined;
      const listKind = typeof js?.kind === 'string' ? js.kind : undefined;
      let read = 0;
      let skipped = 0;
      itemNodes.forEach((node, itemIndex) => {
        if (!node?.range || node.range[2] > firstAt) {
          skipped++;
          return;
        }
        let item: unknown;
        try {
          item = node.toJS(doc, { maxAliasCount: 100 });
        } catch {
          skipped++;
          return;
        }
        const before = out.length;
        collectItem(item, listApi, listKind, place, itemIndex, sink, out);
        read += out.length - before;
      });
      sink.error(lineOf(firstAt), `${what}YAML error: ${yamlReason(first.message)}${more}; kept the ${read} list items before it, skipped ${skipped}`);
      return;
    }
    sink.error(lineOf(firstAt), `${what}YAML error: ${yamlReason(first.message)}${more}; document skipped`);
    return;
  }
  if (!contents) return; // empty document (e.g. a leading or trailing `---`)
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    sink.error(place.line, `${guessIdentity(text.slice(range?.[0] ?? 0, (range?.[0] ?? 0) + 4096))}cannot read YAML document: ${(e as Error).message}; skipped`);
    return;
  }
  collectValue(value, place, sink, out);
}

/** Selected top-level keys of a map node, as JS, ignoring failures. */
function safeToJs(doc: Document.Parsed, node: YamlNode, keys: string[]): Json | undefined {
  if (!isMap(node)) return undefined;
  const o: Json = {};
  for (const k of keys) {
    try {
      const v = node.get(k, true);
      if (isScalar(v)) o[k] = v.toJS(doc);
    } catch {
      /* ignore */
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Values → objects

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isListKind(kind: unknown, v: Json): boolean {
  return typeof kind === 'string' && (kind === 'List' || (kind.endsWith('List') && Array.isArray(v.items)));
}

function collectValue(value: unknown, place: Placement, sink: IssueSink, out: ResourceObject[]): void {
  if (Array.isArray(value)) {
    // calicoctl prints a bare array when several resource types were requested.
    value.forEach((item, i) => collectItem(item, undefined, undefined, place, i, sink, out));
    return;
  }
  if (!isRecord(value)) {
    if (value === null || value === undefined) return;
    const s = String(value);
    if (/^No resources found/.test(s)) sink.warn(place.line, `kubectl printed "${truncateForReport(s)}" instead of objects`);
    else sink.error(place.line, `not a Kubernetes object but plain ${typeof value}: "${truncateForReport(s.split('\n', 1)[0], 80)}" (wrong file type?)`);
    return;
  }
  if (isListKind(value.kind, value) || (value.kind === undefined && Array.isArray(value.items) && typeof value.apiVersion === 'string')) {
    const items = Array.isArray(value.items) ? value.items : [];
    if (value.kind === undefined) sink.warn(place.line, 'a List without `kind` (kubectl and calicoctl print it after the items): the file may be truncated');
    if (value.items !== undefined && value.items !== null && !Array.isArray(value.items)) sink.error(place.line, `${String(value.kind)}: items is not a list`);
    const api = typeof value.apiVersion === 'string' ? value.apiVersion : undefined;
    items.forEach((item, i) => collectItem(item, api, value.kind as string | undefined, place, i, sink, out));
    return;
  }
  pushObject(value, place, undefined, sink, out);
}

function collectItem(
  item: unknown,
  listApi: string | undefined,
  listKind: string | undefined,
  place: Placement,
  itemIndex: number,
  sink: IssueSink,
  out: ResourceObject[],
): void {
  const at = place.itemSpan?.(itemIndex);
  const itemPlace: Placement = at
    ? { docIndex: place.docIndex, span: at.span, line: at.line, col: at.col, node: at.node, lineOf: place.lineOf }
    : { docIndex: place.docIndex, line: place.line };
  if (!isRecord(item)) {
    if (item !== null) sink.error(itemPlace.line, `list item ${itemIndex} is not an object (${Array.isArray(item) ? 'a list' : typeof item})`);
    return;
  }
  if (isListKind(item.kind, item)) {
    // A List inside a List: flatten (item positions are not tracked one level down).
    const items = item.items as unknown[];
    const api = typeof item.apiVersion === 'string' ? item.apiVersion : listApi;
    items.forEach((sub, j) => collectItem(sub, api, item.kind as string, { docIndex: place.docIndex, line: itemPlace.line }, j, sink, out));
    return;
  }
  // Items of a typed list (`PodList`, API server output) may omit their own apiVersion/kind.
  if (item.kind === undefined && listKind && listKind !== 'List' && listKind.endsWith('List')) item.kind = listKind.slice(0, -4);
  if (item.apiVersion === undefined && listApi && listKind !== 'List') item.apiVersion = listApi;
  pushObject(item, itemPlace, itemIndex, sink, out);
}

function pushObject(v: Json, place: Placement, itemIndex: number | undefined, sink: IssueSink, out: ResourceObject[]): void {
  const meta = isRecord(v.metadata) ? v.metadata : undefined;
  const nameForMsg = meta && typeof meta.name === 'string' ? ` ${objectRef({ name: meta.name, namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined })}` : '';
  const where = itemIndex !== undefined ? `list item ${itemIndex}` : 'document';
  if (typeof v.kind !== 'string' || v.kind === '') {
    const keys = Object.keys(v).slice(0, 6).join(', ');
    sink.error(place.line, `${where}${nameForMsg}: not a Kubernetes object: no kind (keys: ${truncateForReport(keys, 80)})`);
    return;
  }
  if (v.apiVersion !== undefined && typeof v.apiVersion !== 'string') {
    sink.error(place.line, `${v.kind}${nameForMsg}: apiVersion is not a string`);
    return;
  }
  if (meta) delete meta.managedFields;
  redactObject(v);
  const source: ResourceSource = { artifact: sink.artifact, line: place.line, docIndex: place.docIndex };
  if (itemIndex !== undefined) source.itemIndex = itemIndex;
  if (place.span) {
    source.offset = place.span.start;
    source.endOffset = place.span.end;
    source.col = place.col ?? 1;
  }
  if (place.node && place.lineOf && RULED_KINDS.has(v.kind)) source.fieldLines = ruleLines(place.node, place.lineOf);
  out.push({ apiVersion: (v.apiVersion as string | undefined) ?? '', kind: v.kind, body: v, source });
}

/** Kinds whose rules get their lines located while reading (evidence for every rule). */
const RULED_KINDS = new Set(['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy', 'StagedKubernetesNetworkPolicy', 'Profile']);

/** Lines of `spec.ingress[i]` / `spec.egress[i]` from the object's YAML node. */
function ruleLines(node: YamlNode, lineOf: (o: number) => number): Record<string, number> | undefined {
  if (!isMap(node)) return undefined;
  const spec = node.get('spec', true);
  if (!isMap(spec)) return undefined;
  const lines: Record<string, number> = {};
  for (const dir of ['ingress', 'egress']) {
    const seq = spec.get(dir, true);
    if (!isSeq(seq)) continue;
    seq.items.forEach((it, i) => {
      const r = (it as YamlNode | null)?.range;
      if (r) lines[`spec.${dir}[${i}]`] = lineOf(r[0]);
    });
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Redaction (defence in depth: a redaction layer also runs on the raw files)

const CREDENTIAL_KEYS = new Set([
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'bearertoken',
  'idtoken',
  'refreshtoken',
  'accesstoken',
  'authtoken',
  'apikey',
  'privatekey',
  'clientkey',
  'clientkeydata',
  'kubeconfig',
  'credential',
  'credentials',
  'secretkey',
  'accesskey',
  'secretaccesskey',
  'etcdkey',
  'sharedsecret',
  'presharedkey',
  'psk',
  'wireguardprivatekey',
]);

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const KUBECONFIG_LIKE = /(^|\n)\s*(client-key-data|token|password|client-key)\s*:\s*\S/;
const EMBEDDED_JSON_CREDENTIAL = /"(password|passwd|token|secret|client-key-data|privateKey|private_key|apiKey|api_key)"\s*:\s*"[^"]/i;
/** An environment variable (`{name, value}`) whose name says it holds a credential. */
const CREDENTIAL_ENV_NAME = /(PASSWORD|PASSWD|PASSPHRASE|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY)/i;
const EMBEDDED_JSON_CREDENTIAL_ENV = /"name"\s*:\s*"[^"]*(PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL)[^"]*"\s*,\s*"value"\s*:\s*"[^"]/i;

function credentialKey(k: string): boolean {
  return CREDENTIAL_KEYS.has(k.toLowerCase().replace(/[-_]/g, ''));
}

function credentialText(s: string): boolean {
  if (s.length < 8) return false;
  return (
    PEM_PRIVATE_KEY.test(s) ||
    (s.includes('\n') && KUBECONFIG_LIKE.test(s) && /(clusters|users|contexts)\s*:/.test(s)) ||
    EMBEDDED_JSON_CREDENTIAL.test(s) ||
    EMBEDDED_JSON_CREDENTIAL_ENV.test(s)
  );
}

/** Redacts in place. Secret payloads entirely; elsewhere values under credential keys and credential-looking text. */
function redactObject(v: Json): void {
  if (v.kind === 'Secret') {
    for (const k of ['data', 'stringData']) {
      const d = v[k];
      if (isRecord(d)) for (const key of Object.keys(d)) d[key] = REDACTED;
      else if (d !== undefined && d !== null) v[k] = REDACTED;
    }
    const ann = isRecord(v.metadata) && isRecord(v.metadata.annotations) ? v.metadata.annotations : undefined;
    if (ann && 'kubectl.kubernetes.io/last-applied-configuration' in ann) ann['kubectl.kubernetes.io/last-applied-configuration'] = REDACTED;
  }
  redactWalk(v, 0);
}

function redactWalk(node: Json | unknown[], depth: number): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const x = node[i];
      if (typeof x === 'string') {
        if (credentialText(x)) node[i] = REDACTED;
      } else if (typeof x === 'object' && x !== null) {
        if (depth >= 64) node[i] = REDACTED;
        else redactWalk(x as Json | unknown[], depth + 1);
      }
    }
    return;
  }
  if (typeof node.name === 'string' && typeof node.value === 'string' && node.value !== '' && CREDENTIAL_ENV_NAME.test(node.name)) node.value = REDACTED;
  for (const k of Object.keys(node)) {
    const x = node[k];
    if (typeof x === 'string' || typeof x === 'number') {
      if (credentialKey(k) ? x !== '' && x !== REDACTED : typeof x === 'string' && credentialText(x)) node[k] = REDACTED;
    } else if (typeof x === 'object' && x !== null) {
      if (depth >= 64) node[k] = REDACTED; // nothing real nests this deep; do not recurse without bound
      else redactWalk(x as Json | unknown[], depth + 1);
    }
  }
}

// =============================================================================================
// Locating a field's line on demand

/**
 * Finds the line of a field path inside an object, on demand (issues and rule evidence only):
 * - rule lines pre-located while reading YAML (`source.fieldLines`);
 * - JSON: one bracket scan of the object's text, recording where each path starts;
 * - YAML: a re-read of only that object's text with the yaml library. The text is indented by
 *   the object's column so that block YAML that started mid-line (`- apiVersion: …`) keeps its
 *   structure.
 * A path that does not exist resolves to its deepest existing ancestor.
 */
class FieldLocator {
  private json: Map<string, number> | undefined;
  private doc: Document.Parsed | null | undefined;
  private lc = new LineCounter();
  private lines: LineIndex | undefined;
  constructor(
    private readonly text: string | undefined,
    private readonly src: ResourceSource,
  ) {}

  line(path: Path): number {
    return this.find(path) ?? this.src.line;
  }

  find(path: Path): number | undefined {
    const pre = this.src.fieldLines?.[fmtPath(path)];
    if (pre !== undefined) return pre;
    const { offset, endOffset } = this.src;
    if (this.text === undefined || offset === undefined || endOffset === undefined) return undefined;
    if (this.text.charCodeAt(offset) === Ch.LBrace) return this.findJson(path, offset, endOffset);
    return this.findYaml(path);
  }

  private findJson(path: Path, offset: number, endOffset: number): number | undefined {
    if (this.json === undefined) this.json = jsonPathOffsets(this.text!, offset, endOffset);
    for (let n = path.length; n > 0; n--) {
      const at = this.json.get(fmtPath(path.slice(0, n)));
      if (at !== undefined) {
        // Lines relative to the object's first line: count newlines in its own text only.
        this.lines ??= new LineIndex(this.text!.slice(offset, endOffset));
        return this.src.line + this.lines.line(at - offset) - 1;
      }
    }
    return undefined;
  }

  private findYaml(path: Path): number | undefined {
    const doc = this.loadYaml();
    if (!doc) return undefined;
    let node: unknown = doc.contents;
    let best: number | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const k = pair.key as YamlNode;
        if (k.range) best = k.range[0];
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const it = node.items[seg] as YamlNode | undefined;
        if (!it) break;
        if (it.range) best = it.range[0];
        node = it;
      } else break;
    }
    if (best === undefined) return undefined;
    return this.src.line + this.lc.linePos(best).line - 1;
  }

  private loadYaml(): Document.Parsed | null {
    if (this.doc !== undefined) return this.doc;
    this.doc = null;
    const { offset, endOffset, col } = this.src;
    try {
      const slice = ' '.repeat(Math.max(0, (col ?? 1) - 1)) + this.text!.slice(offset, endOffset);
      const doc = parseDocument(slice, { ...YAML_OPTIONS, lineCounter: this.lc, uniqueKeys: false });
      if (doc.errors.length === 0) this.doc = doc;
    } catch {
      /* fall back to the object's own line */
    }
    return this.doc;
  }
}

/**
 * Where each path of a JSON object starts (object members: the key; list elements: the value),
 * keyed like `fmtPath` (`spec.ingress[0].action`), down to `maxDepth` levels.
 */
function jsonPathOffsets(text: string, start: number, end: number, maxDepth = 12): Map<string, number> {
  interface Frame {
    arr: boolean;
    path: string;
    index: number;
    key: string;
    keyAt: number;
    expectKey: boolean;
  }
  const out = new Map<string, number>();
  const stack: Frame[] = [];
  const childPath = (f: Frame) => (f.arr ? `${f.path}[${f.index}]` : f.path ? `${f.path}.${f.key}` : f.key);
  const valueAt = (pos: number): string => {
    const f = stack[stack.length - 1];
    if (!f) return '';
    const p = childPath(f);
    if (stack.length <= maxDepth) out.set(p, f.arr ? pos : f.keyAt);
    return p;
  };
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (isWs(c)) {
      i++;
      continue;
    }
    const top = stack[stack.length - 1];
    if (c === Ch.Quote) {
      const e = Math.min(skipString(text, i), end);
      if (top && !top.arr && top.expectKey) {
        try {
          top.key = JSON.parse(text.slice(i, e)) as string;
        } catch {
          top.key = text.slice(i + 1, e - 1);
        }
        top.keyAt = i;
      } else valueAt(i);
      i = e;
    } else if (c === Ch.LBrace || c === Ch.LBracket) {
      const p = valueAt(i);
      stack.push({ arr: c === Ch.LBracket, path: p, index: 0, key: '', keyAt: i, expectKey: c === Ch.LBrace });
      i++;
    } else if (c === Ch.RBrace || c === Ch.RBracket) {
      stack.pop();
      if (stack.length === 0) break;
      i++;
    } else if (c === Ch.Comma) {
      if (top?.arr) top.index++;
      else if (top) top.expectKey = true;
      i++;
    } else if (c === Ch.Colon) {
      if (top) top.expectKey = false;
      i++;
    } else {
      valueAt(i);
      while (i < end) {
        const d = text.charCodeAt(i);
        if (d === Ch.Comma || d === Ch.RBrace || d === Ch.RBracket || isWs(d)) break;
        i++;
      }
    }
  }
  return out;
}

// =============================================================================================
// Stage 2: objects → typed model

function fmtPath(path: Path): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(truncateForReport(v, 80));
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Issues of the build stage, one capped sink per artifact. */
class IssueBook {
  private readonly sinks = new Map<string, IssueSink>();
  sink(artifact: string): IssueSink {
    let s = this.sinks.get(artifact);
    if (!s) this.sinks.set(artifact, (s = new IssueSink(artifact)));
    return s;
  }
  finish(): ParseIssue[] {
    return [...this.sinks.values()].flatMap((s) => s.finish());
  }
}

/** Reading and validating one object: typed getters that report wrong types with file, line and object. */
class Ctx {
  readonly invalid: string[] = [];
  private locator: FieldLocator;
  constructor(
    readonly obj: ResourceObject,
    readonly label: string,
    private readonly book: IssueBook,
    text: string | undefined,
  ) {
    this.locator = new FieldLocator(text, obj.source);
  }

  lineOf(path: Path): number {
    return path.length === 0 ? this.obj.source.line : this.locator.line(path);
  }

  /** A problem Calico/Kubernetes validation would refuse the object for. */
  error(path: Path, msg: string): void {
    const p = fmtPath(path);
    this.invalid.push(p ? `${p} ${msg}` : msg);
    this.book.sink(this.obj.source.artifact).error(this.lineOf(path), `${this.label}: ${p ? `${p} ` : ''}${msg}`);
  }

  warn(path: Path, msg: string): void {
    const p = fmtPath(path);
    this.book.sink(this.obj.source.artifact).warn(this.lineOf(path), `${this.label}: ${p ? `${p} ` : ''}${msg}`);
  }

  rec(v: unknown, path: Path): Json | undefined {
    if (v === undefined || v === null) return undefined;
    if (isRecord(v)) return v;
    this.error(path, `should be an object, got ${show(v)}`);
    return undefined;
  }

  arr(v: unknown, path: Path): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v;
    this.error(path, `should be a list, got ${show(v)}`);
    return undefined;
  }

  str(v: unknown, path: Path): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') {
      this.error(path, `should be a string, got ${show(v)}${typeof v === 'boolean' ? ' (unquoted yes/no/on/off/y/n are booleans to kubectl: quote it)' : ''}`);
      return String(v);
    }
    this.error(path, `should be a string, got ${show(v)}`);
    return undefined;
  }

  /** A non-empty string, or undefined. */
  nstr(v: unknown, path: Path): string | undefined {
    const s = this.str(v, path);
    return s === '' ? undefined : s;
  }

  bool(v: unknown, path: Path): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') {
      this.error(path, `should be a boolean, got the string ${show(v)}`);
      return v === 'true';
    }
    this.error(path, `should be a boolean, got ${show(v)}`);
    return undefined;
  }

  num(v: unknown, path: Path): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) {
      this.error(path, `should be a number, got the string ${show(v)}`);
      return Number(v);
    }
    this.error(path, `should be a number, got ${show(v)}`);
    return undefined;
  }

  int(v: unknown, path: Path, min = -Infinity, max = Infinity): number | undefined {
    const n = this.num(v, path);
    if (n === undefined) return undefined;
    if (!Number.isInteger(n)) {
      this.error(path, `should be an integer, got ${n}`);
      return undefined;
    }
    if (n < min || n > max) {
      this.error(path, `${n} is out of range ${min}–${max}`);
      return undefined;
    }
    return n;
  }

  strMap(v: unknown, path: Path): Record<string, string> {
    const r = this.rec(v, path);
    const out: Record<string, string> = {};
    if (!r) return out;
    for (const [k, x] of Object.entries(r)) {
      if (x === null || x === undefined) {
        out[k] = '';
        continue;
      }
      const s = this.str(x, [...path, k]);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }

  strList(v: unknown, path: Path): string[] {
    const a = this.arr(v, path);
    const out: string[] = [];
    if (!a) return out;
    a.forEach((x, i) => {
      const s = this.str(x, [...path, i]);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  /**
   * An enum value. `ci`: the owner of the field accepts any case, so another case is fine and is
   * normalised. `caseWhy`: another case is refused (the reason is added to the message), and
   * `caseEffective` says whether the component that uses the value still reads it as meant (Felix
   * lower-cases rule actions, for instance); then the normalised value is returned anyway.
   */
  oneOf<T extends string>(v: unknown, path: Path, allowed: readonly T[], opts: { ci?: boolean; caseWhy?: string; caseEffective?: boolean } = {}): T | undefined {
    const s = this.str(v, path);
    if (s === undefined) return undefined;
    if ((allowed as readonly string[]).includes(s)) return s as T;
    const ci = allowed.find((a) => a.toLowerCase() === s.toLowerCase());
    if (ci && opts.ci) return ci;
    this.error(path, `${show(s)} is not one of ${allowed.join(', ')}${ci && opts.caseWhy ? ` (${opts.caseWhy})` : ''}`);
    return ci && opts.caseEffective ? ci : undefined;
  }

  ip(v: unknown, path: Path): string | undefined {
    const s = this.nstr(v, path);
    if (s !== undefined && !isIp(s)) this.error(path, `${show(s)} is not an IP address`);
    return s;
  }

  cidr(v: unknown, path: Path, allowPlainIp = true): string | undefined {
    const s = this.nstr(v, path);
    if (s !== undefined && !(isCidr(s) || (allowPlainIp && isIp(s)))) this.error(path, `${show(s)} is not a valid ${allowPlainIp ? 'IP or CIDR' : 'CIDR'}`);
    return s;
  }

  cidrList(v: unknown, path: Path, allowPlainIp = true): string[] {
    const a = this.arr(v, path) ?? [];
    const out: string[] = [];
    a.forEach((x, i) => {
      const s = this.cidr(x, [...path, i], allowPlainIp);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  ipList(v: unknown, path: Path): string[] {
    const a = this.arr(v, path) ?? [];
    const out: string[] = [];
    a.forEach((x, i) => {
      const s = this.ip(x, [...path, i]);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  /** Calico `numorstring.ASNumber`: a number or "a.b" (asdot), 32-bit. */
  asNumber(v: unknown, path: Path): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
    if (typeof v === 'string') {
      if (/^\d+$/.test(v) && Number(v) <= 0xffffffff) return Number(v);
      const m = /^(\d+)\.(\d+)$/.exec(v);
      if (m && Number(m[1]) <= 0xffff && Number(m[2]) <= 0xffff) return Number(m[1]) * 65536 + Number(m[2]);
    }
    this.error(path, `${show(v)} is not an AS number`);
    return undefined;
  }
}

function isIp(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s) || (s.includes(':') && ipaddr.IPv6.isValid(s));
}

function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len)) return false;
  if (ipaddr.IPv4.isValidFourPartDecimal(addr)) return Number(len) <= 32;
  return addr.includes(':') && ipaddr.IPv6.isValid(addr) && Number(len) <= 128;
}

function ipVersionOf(s: string): 4 | 6 | undefined {
  const addr = s.split('/')[0];
  if (ipaddr.IPv4.isValidFourPartDecimal(addr)) return 4;
  if (addr.includes(':') && ipaddr.IPv6.isValid(addr)) return 6;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Metadata

function readMeta(c: Ctx, namespaced: boolean): ObjectMeta {
  const m = c.rec(c.obj.body.metadata, ['metadata']) ?? {};
  const name = c.str(m.name, ['metadata', 'name']) ?? '';
  if (!name) c.error(['metadata', 'name'], 'is missing');
  const meta: ObjectMeta = {
    name,
    labels: c.strMap(m.labels, ['metadata', 'labels']),
    annotations: c.strMap(m.annotations, ['metadata', 'annotations']),
    ownerReferences: [],
    finalizers: c.strList(m.finalizers, ['metadata', 'finalizers']),
  };
  const ns = c.nstr(m.namespace, ['metadata', 'namespace']);
  if (namespaced) {
    if (ns) meta.namespace = ns;
    else {
      meta.namespace = 'default';
      c.warn(['metadata'], 'has no namespace; assumed "default"');
    }
  }
  const opt = (k: 'uid' | 'resourceVersion' | 'creationTimestamp' | 'deletionTimestamp' | 'generateName') => {
    const s = c.nstr(m[k], ['metadata', k]);
    if (s !== undefined) meta[k] = s;
  };
  opt('uid');
  opt('resourceVersion');
  opt('creationTimestamp');
  opt('deletionTimestamp');
  opt('generateName');
  const gen = c.int(m.generation, ['metadata', 'generation']);
  if (gen !== undefined) meta.generation = gen;
  (c.arr(m.ownerReferences, ['metadata', 'ownerReferences']) ?? []).forEach((o, i) => {
    const p = ['metadata', 'ownerReferences', i];
    const r = c.rec(o, p);
    if (!r) return;
    const ref = { kind: c.str(r.kind, [...p, 'kind']) ?? '', name: c.str(r.name, [...p, 'name']) ?? '' } as ObjectMeta['ownerReferences'][number];
    const api = c.nstr(r.apiVersion, [...p, 'apiVersion']);
    if (api) ref.apiVersion = api;
    const uid = c.nstr(r.uid, [...p, 'uid']);
    if (uid) ref.uid = uid;
    const ctl = c.bool(r.controller, [...p, 'controller']);
    if (ctl !== undefined) ref.controller = ctl;
    meta.ownerReferences.push(ref);
  });
  return meta;
}

function base<K extends string, S>(c: Ctx, kind: K, form: ResourceForm, metadata: ObjectMeta, spec: S): TypedResource<K, S> {
  return { kind, apiVersion: c.obj.apiVersion, form, metadata, spec, source: c.obj.source };
}

function finish<T extends TypedResource<string, unknown>>(c: Ctx, t: T): T {
  if (c.invalid.length > 0) t.invalid = c.invalid;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Calico rules

const PROTOCOL_NAMES = Object.keys(PROTOCOL_NUMBERS) as ProtocolName[];
const NUMBER_TO_PROTOCOL = new Map(PROTOCOL_NAMES.map((n) => [PROTOCOL_NUMBERS[n], n]));
const PORTS_PROTOCOLS = new Set([6, 17, 132]);

function protocolValue(c: Ctx, v: unknown, path: Path): ProtocolValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1 || v > 255) {
      c.error(path, `protocol number ${v} is out of range 1–255`);
      return { raw: v };
    }
    const name = NUMBER_TO_PROTOCOL.get(v);
    return name ? { raw: v, name, number: v } : { raw: v, number: v };
  }
  if (typeof v !== 'string') {
    c.error(path, `should be a protocol name or number, got ${show(v)}`);
    return undefined;
  }
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n < 1 || n > 255) {
      c.error(path, `protocol number ${v} is out of range 1–255`);
      return { raw: v };
    }
    const name = NUMBER_TO_PROTOCOL.get(n);
    return name ? { raw: v, name, number: n } : { raw: v, number: n };
  }
  if ((PROTOCOL_NAMES as string[]).includes(v)) return { raw: v, name: v as ProtocolName, number: PROTOCOL_NUMBERS[v as ProtocolName] };
  const ci = PROTOCOL_NAMES.find((n) => n.toLowerCase() === v.toLowerCase());
  if (ci) {
    c.error(path, `${show(v)} is not one of ${PROTOCOL_NAMES.join(', ')} (Calico is case-sensitive)`);
    return { raw: v, name: ci, number: PROTOCOL_NUMBERS[ci] };
  }
  c.error(path, `${show(v)} is not one of ${PROTOCOL_NAMES.join(', ')} or a number 1–255`);
  return { raw: v };
}

const PORT_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

function portSpec(c: Ctx, v: unknown, path: Path): PortMatch | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 65535) {
      c.error(path, `port ${v} is out of range 0–65535`);
      return undefined;
    }
    return { kind: 'number', port: v, raw: v };
  }
  if (typeof v !== 'string') {
    c.error(path, `should be a port number, "min:max" range or port name, got ${show(v)}`);
    return undefined;
  }
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n > 65535) {
      c.error(path, `port ${v} is out of range 0–65535`);
      return undefined;
    }
    return { kind: 'number', port: n, raw: v };
  }
  const m = /^(\d+):(\d+)$/.exec(v);
  if (m) {
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (from > 65535 || to > 65535 || from > to) {
      c.error(path, `port range ${show(v)} is invalid`);
      return undefined;
    }
    return { kind: 'range', from, to, raw: v };
  }
  if (PORT_NAME.test(v)) return { kind: 'named', name: v, raw: v };
  c.error(path, `${show(v)} is not a port number, "min:max" range or port name`);
  return undefined;
}

function portList(c: Ctx, v: unknown, path: Path): PortMatch[] {
  const out: PortMatch[] = [];
  (c.arr(v, path) ?? []).forEach((x, i) => {
    const p = portSpec(c, x, [...path, i]);
    if (p) out.push(p);
  });
  return out;
}

function entityRule(c: Ctx, v: unknown, path: Path): EntityRule {
  const r = c.rec(v, path) ?? {};
  const e: EntityRule = {
    nets: c.cidrList(r.nets, [...path, 'nets']),
    notNets: c.cidrList(r.notNets, [...path, 'notNets']),
    ports: portList(c, r.ports, [...path, 'ports']),
    notPorts: portList(c, r.notPorts, [...path, 'notPorts']),
  };
  for (const k of ['selector', 'notSelector', 'namespaceSelector'] as const) {
    const s = c.str(r[k], [...path, k]);
    if (s !== undefined && s !== '') e[k] = s;
  }
  const sa = c.rec(r.serviceAccounts, [...path, 'serviceAccounts']);
  if (sa) {
    e.serviceAccounts = { names: c.strList(sa.names, [...path, 'serviceAccounts', 'names']) };
    const sel = c.nstr(sa.selector, [...path, 'serviceAccounts', 'selector']);
    if (sel) e.serviceAccounts.selector = sel;
  }
  const svc = c.rec(r.services, [...path, 'services']);
  if (svc) {
    const name = c.str(svc.name, [...path, 'services', 'name']) ?? '';
    if (!name) c.error([...path, 'services'], 'must specify a service name');
    e.services = { name };
    const ns = c.nstr(svc.namespace, [...path, 'services', 'namespace']);
    if (ns) e.services.namespace = ns;
    if (e.namespaceSelector) c.error([...path, 'services'], 'cannot be combined with namespaceSelector on the same rule');
    if (e.selector || e.notSelector) c.error([...path, 'services'], 'cannot be combined with selector/notSelector on the same rule');
    if (e.serviceAccounts) c.error([...path, 'services'], 'cannot be combined with serviceAccounts on the same rule');
    if (e.nets.length || e.notNets.length) c.error([...path, 'services'], 'cannot be combined with nets/notNets on the same rule');
  }
  return e;
}

function icmpMatch(c: Ctx, v: unknown, path: Path): IcmpMatch | undefined {
  const r = c.rec(v, path);
  if (!r) return undefined;
  const m: IcmpMatch = {};
  const type = c.int(r.type, [...path, 'type'], 0, 254);
  const code = c.int(r.code, [...path, 'code'], 0, 255);
  if (type !== undefined) m.type = type;
  if (code !== undefined) m.code = code;
  if (r.code !== undefined && r.type === undefined) c.error(path, 'ICMP code specified without an ICMP type');
  return m;
}

function calicoRule(c: Ctx, v: unknown, path: Path, index: number, lineOf: (p: Path) => number | undefined): CalicoRule {
  const r = c.rec(v, path) ?? {};
  const rule: CalicoRule = {
    index,
    source: entityRule(c, r.source, [...path, 'source']),
    destination: entityRule(c, r.destination, [...path, 'destination']),
  };
  const line = lineOf(path);
  if (line !== undefined) rule.line = line;
  if (r.action === undefined || r.action === null || r.action === '') c.error([...path, 'action'], 'is missing');
  else {
    // Felix lower-cases the action, so a wrongly-cased one still works where it got stored.
    const a = c.oneOf<RuleAction>(r.action, [...path, 'action'], RULE_ACTIONS, { caseWhy: 'Calico is case-sensitive', caseEffective: true });
    if (a) rule.action = a;
  }
  const proto = protocolValue(c, r.protocol, [...path, 'protocol']);
  if (proto) rule.protocol = proto;
  const notProto = protocolValue(c, r.notProtocol, [...path, 'notProtocol']);
  if (notProto) rule.notProtocol = notProto;
  const icmp = icmpMatch(c, r.icmp, [...path, 'icmp']);
  if (icmp) rule.icmp = icmp;
  const notIcmp = icmpMatch(c, r.notICMP, [...path, 'notICMP']);
  if (notIcmp) rule.notICMP = notIcmp;
  if (r.ipVersion !== undefined && r.ipVersion !== null) {
    const iv = c.int(r.ipVersion, [...path, 'ipVersion']);
    if (iv === 4 || iv === 6) rule.ipVersion = iv;
    else if (iv !== undefined) c.error([...path, 'ipVersion'], `${iv} is not 4 or 6`);
  }
  const http = c.rec(r.http, [...path, 'http']);
  if (http) {
    rule.http = {
      methods: c.strList(http.methods, [...path, 'http', 'methods']),
      paths: (c.arr(http.paths, [...path, 'http', 'paths']) ?? []).map((p, i) => {
        const pr = c.rec(p, [...path, 'http', 'paths', i]) ?? {};
        const o: { exact?: string; prefix?: string } = {};
        const exact = c.nstr(pr.exact, [...path, 'http', 'paths', i, 'exact']);
        const prefix = c.nstr(pr.prefix, [...path, 'http', 'paths', i, 'prefix']);
        if (exact !== undefined) o.exact = exact;
        if (prefix !== undefined) o.prefix = prefix;
        return o;
      }),
    };
    if (rule.action && rule.action !== 'Allow') c.error([...path, 'http'], 'HTTP match is only valid on Allow rules');
    if (rule.protocol && rule.protocol.number !== 6) c.error([...path, 'http'], 'rules with HTTP match must have protocol TCP or unset');
  }
  const meta = c.rec(r.metadata, [...path, 'metadata']);
  if (meta && meta.annotations !== undefined) rule.annotations = c.strMap(meta.annotations, [...path, 'metadata', 'annotations']);

  // Calico's rule validation (libcalico-go validator validateRule and the CRD CEL rules).
  for (const side of ['source', 'destination'] as const) {
    for (const k of ['ports', 'notPorts'] as const) {
      const ports = rule[side][k];
      if (ports.length === 0) continue;
      const p = [...path, side, k];
      if (!rule.protocol) {
        if (ports.some((x) => x.kind !== 'named')) c.error(p, 'numeric ports need protocol TCP, UDP or SCTP on the rule');
      } else if (rule.protocol.number !== undefined && !PORTS_PROTOCOLS.has(rule.protocol.number)) {
        c.error(p, `protocol ${String(rule.protocol.raw)} does not support ports`);
      }
    }
  }
  if ((rule.icmp || rule.notICMP) && rule.protocol?.number !== undefined && rule.protocol.number !== 1 && rule.protocol.number !== 58) {
    c.error([...path, rule.icmp ? 'icmp' : 'notICMP'], `ICMP match needs protocol ICMP or ICMPv6, not ${String(rule.protocol.raw)}`);
  }
  let v4 = false;
  let v6 = false;
  for (const side of ['source', 'destination'] as const) {
    for (const k of ['nets', 'notNets'] as const) {
      for (const n of rule[side][k]) {
        const ver = ipVersionOf(n);
        if (ver === 4) v4 = true;
        if (ver === 6) v6 = true;
        if (ver && rule.ipVersion && ver !== rule.ipVersion) c.error([...path, side, k], `${n} does not match ipVersion ${rule.ipVersion}`);
        if (k === 'notNets' && (n === '0.0.0.0/0' || n === '::/0')) c.error([...path, side, k], `catch-all ${n} in a negation matches no traffic`);
      }
    }
  }
  if (v4 && v6) c.error(path, 'rule contains both IPv4 and IPv6 CIDRs');
  return rule;
}

function ruleList(c: Ctx, v: unknown, path: Path, lineOf: (p: Path) => number | undefined): CalicoRule[] | undefined {
  if (v === undefined || v === null) return undefined;
  const a = c.arr(v, path);
  if (!a) return [];
  return a.map((r, i) => calicoRule(c, r, [...path, i], i, lineOf));
}

// ---------------------------------------------------------------------------------------------
// Calico policies

type CalicoPolicyKind = 'NetworkPolicy' | 'GlobalNetworkPolicy' | 'StagedNetworkPolicy' | 'StagedGlobalNetworkPolicy';
const POLICY_TYPES: readonly PolicyType[] = ['Ingress', 'Egress'];
const STAGED_ACTIONS: readonly StagedAction[] = ['Set', 'Delete', 'Learn', 'Ignore'];

function calicoPolicy(c: Ctx, kind: CalicoPolicyKind, form: ResourceForm): TypedResource<CalicoPolicyKind, CalicoPolicySpec> {
  const global = kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy';
  const meta = readMeta(c, !global);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const sp = (k: string): Path => ['spec', k];
  const tier = c.nstr(s.tier, sp('tier')) ?? 'default';
  // Ruled lines are wanted for evidence; locate them once per policy (the locator parses lazily).
  const lineOf = (p: Path) => c.lineOf(p);
  // KDD storage (Calico ≤ 3.30) prefixes default-tier names with `default.`; calicoctl shows them
  // without it. Other tiers' names carry `<tier>.` in both forms.
  let policyName = meta.name;
  if (form === 'crd' && tier === 'default' && meta.name.startsWith('default.')) policyName = meta.name.slice('default.'.length);
  else if (form === 'crd' && !('tier' in s) && /^[^.]+\./.test(meta.name) && !meta.name.startsWith('default.')) {
    c.warn(['metadata', 'name'], `has a tier-like prefix but spec.tier is not set; Calico ≤ 3.30 would put it in tier "${meta.name.split('.')[0]}", newer Calico in "default"`);
  }
  const spec: CalicoPolicySpec = {
    tier,
    policyName,
    typesGiven: s.types !== undefined && s.types !== null,
    doNotTrack: c.bool(s.doNotTrack, sp('doNotTrack')) ?? false,
    preDNAT: c.bool(s.preDNAT, sp('preDNAT')) ?? false,
    applyOnForward: c.bool(s.applyOnForward, sp('applyOnForward')) ?? false,
    performanceHints: c.strList(s.performanceHints, sp('performanceHints')),
  };
  const order = c.num(s.order, sp('order'));
  if (order !== undefined) spec.order = order;
  for (const k of ['selector', 'namespaceSelector', 'serviceAccountSelector'] as const) {
    const v = c.str(s[k], sp(k));
    if (v !== undefined && v !== '') spec[k] = v;
  }
  if (spec.typesGiven) {
    spec.types = [];
    (c.arr(s.types, sp('types')) ?? []).forEach((t, i) => {
      // Felix lower-cases policy types too (updateprocessors policyTypeAPIV3ToBackend).
      const pt = c.oneOf(t, ['spec', 'types', i], POLICY_TYPES, { caseWhy: 'Calico is case-sensitive', caseEffective: true });
      if (pt) spec.types!.push(pt);
    });
  }
  const ingress = ruleList(c, s.ingress, sp('ingress'), lineOf);
  if (ingress) spec.ingress = ingress;
  const egress = ruleList(c, s.egress, sp('egress'), lineOf);
  if (egress) spec.egress = egress;
  if (kind === 'StagedNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy') {
    const sa = c.oneOf(s.stagedAction, sp('stagedAction'), STAGED_ACTIONS);
    spec.stagedAction = sa ?? 'Set';
  }
  if (meta.name.startsWith('knp.default.')) spec.derivedFrom = 'k8s-networkpolicy';
  else if (meta.name.startsWith('ossg.')) spec.derivedFrom = 'openstack';

  if (!global) {
    for (const k of ['doNotTrack', 'preDNAT', 'applyOnForward'] as const) if (s[k] !== undefined && s[k] !== false) c.warn(sp(k), `is not a ${kind} field (only GlobalNetworkPolicy has it); ignored by Calico`);
    if (spec.namespaceSelector) c.warn(sp('namespaceSelector'), `is not a ${kind} field (the policy applies in its own namespace); ignored by Calico`);
  }
  if (spec.doNotTrack && spec.preDNAT) c.error(sp('preDNAT'), 'preDNAT and doNotTrack cannot both be true');
  if (spec.preDNAT && spec.egress && spec.egress.length > 0) c.error(sp('egress'), 'a preDNAT policy cannot have egress rules');
  if (spec.preDNAT && spec.types?.includes('Egress')) c.error(sp('types'), "a preDNAT policy cannot have the 'Egress' type");
  if ((spec.doNotTrack || spec.preDNAT) && !spec.applyOnForward) c.error(sp('applyOnForward'), 'must be true when preDNAT or doNotTrack is true');
  return finish(c, base(c, kind, form, meta, spec));
}

// ---------------------------------------------------------------------------------------------
// Kubernetes NetworkPolicy

const SELECTOR_OPS: readonly LabelSelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const K8S_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

function labelSelector(c: Ctx, v: unknown, path: Path): LabelSelector | undefined {
  const r = c.rec(v, path);
  if (!r) return undefined;
  const sel: LabelSelector = { matchLabels: c.strMap(r.matchLabels, [...path, 'matchLabels']), matchExpressions: [] };
  (c.arr(r.matchExpressions, [...path, 'matchExpressions']) ?? []).forEach((e, i) => {
    const p = [...path, 'matchExpressions', i];
    const er = c.rec(e, p);
    if (!er) return;
    const key = c.str(er.key, [...p, 'key']) ?? '';
    if (!key) c.error([...p, 'key'], 'is missing');
    const operator = c.oneOf(er.operator, [...p, 'operator'], SELECTOR_OPS, { caseWhy: 'Kubernetes is case-sensitive' });
    if (!operator) {
      if (er.operator === undefined) c.error([...p, 'operator'], 'is missing');
      return;
    }
    const values = c.strList(er.values, [...p, 'values']);
    if ((operator === 'In' || operator === 'NotIn') && values.length === 0) c.error([...p, 'values'], `must be non-empty for operator ${operator}`);
    if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) c.error([...p, 'values'], `must be empty for operator ${operator}`);
    sel.matchExpressions.push({ key, operator, values });
  });
  return sel;
}

function k8sPeer(c: Ctx, v: unknown, path: Path): K8sPeer | undefined {
  const r = c.rec(v, path);
  if (!r) return undefined;
  const peer: K8sPeer = {};
  const pod = labelSelector(c, r.podSelector, [...path, 'podSelector']);
  if (pod) peer.podSelector = pod;
  const ns = labelSelector(c, r.namespaceSelector, [...path, 'namespaceSelector']);
  if (ns) peer.namespaceSelector = ns;
  const ib = c.rec(r.ipBlock, [...path, 'ipBlock']);
  if (ib) {
    const cidr = c.cidr(ib.cidr, [...path, 'ipBlock', 'cidr'], false) ?? '';
    if (!cidr) c.error([...path, 'ipBlock', 'cidr'], 'is missing');
    peer.ipBlock = { cidr, except: c.cidrList(ib.except, [...path, 'ipBlock', 'except'], false) };
    if (pod || ns) c.error([...path, 'ipBlock'], 'cannot be combined with podSelector/namespaceSelector in one peer');
  }
  if (!pod && !ns && !ib) c.error(path, 'a peer must have podSelector, namespaceSelector or ipBlock');
  return peer;
}

function k8sPolicyPort(c: Ctx, v: unknown, path: Path): K8sPolicyPort | undefined {
  const r = c.rec(v, path);
  if (!r) return undefined;
  const given = r.protocol !== undefined && r.protocol !== null;
  const protocol = given ? c.oneOf(r.protocol, [...path, 'protocol'], K8S_PROTOCOLS, { caseWhy: 'Kubernetes is case-sensitive' }) : 'TCP';
  const port: K8sPolicyPort = { protocol: protocol ?? 'TCP', protocolDefaulted: !given };
  if (r.port !== undefined && r.port !== null) {
    if (typeof r.port === 'number') {
      if (Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535) port.port = r.port;
      else c.error([...path, 'port'], `${r.port} is out of range 1–65535`);
    } else if (typeof r.port === 'string') {
      if (/^\d+$/.test(r.port)) {
        // An IntOrString written as a string of digits is a (invalid) port name to Kubernetes.
        c.error([...path, 'port'], `${show(r.port)} is a string of digits; Kubernetes reads it as a port name, not a number`);
        port.port = r.port;
      } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(r.port) && r.port.length <= 15 && /[a-z]/.test(r.port)) port.port = r.port;
      else {
        c.error([...path, 'port'], `${show(r.port)} is not a valid port name (IANA_SVC_NAME)`);
        port.port = r.port;
      }
    } else c.error([...path, 'port'], `should be a number or a port name, got ${show(r.port)}`);
  }
  const end = c.int(r.endPort, [...path, 'endPort'], 1, 65535);
  if (end !== undefined) {
    if (typeof port.port !== 'number') c.error([...path, 'endPort'], 'needs a numeric port');
    else if (end < port.port) c.error([...path, 'endPort'], `${end} is below port ${port.port}`);
    port.endPort = end;
  }
  return port;
}

function k8sRules(c: Ctx, v: unknown, path: Path, peerKey: 'from' | 'to'): K8sPolicyRule[] | undefined {
  if (v === undefined || v === null) return undefined;
  const a = c.arr(v, path);
  if (!a) return [];
  return a.map((x, i) => {
    const p = [...path, i];
    const r = c.rec(x, p) ?? {};
    const rule: K8sPolicyRule = { index: i };
    const line = c.lineOf(p);
    if (line !== undefined) rule.line = line;
    if (r[peerKey] !== undefined && r[peerKey] !== null) {
      rule.peers = [];
      (c.arr(r[peerKey], [...p, peerKey]) ?? []).forEach((peer, j) => {
        const kp = k8sPeer(c, peer, [...p, peerKey, j]);
        if (kp) rule.peers!.push(kp);
      });
    }
    const wrong = peerKey === 'from' ? 'to' : 'from';
    if (r[wrong] !== undefined) c.error([...p, wrong], `is not valid in ${peerKey === 'from' ? 'an ingress' : 'an egress'} rule (use ${peerKey})`);
    if (r.ports !== undefined && r.ports !== null) {
      rule.ports = [];
      (c.arr(r.ports, [...p, 'ports']) ?? []).forEach((port, j) => {
        const kp = k8sPolicyPort(c, port, [...p, 'ports', j]);
        if (kp) rule.ports!.push(kp);
      });
    }
    return rule;
  });
}

function k8sPolicySpec(c: Ctx, staged: boolean): K8sNetworkPolicySpec {
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  if (c.obj.body.spec === undefined) c.error(['spec'], 'is missing');
  let podSelector = labelSelector(c, s.podSelector, ['spec', 'podSelector']);
  if (!podSelector) {
    if (c.obj.body.spec !== undefined) c.warn(['spec'], 'has no podSelector; read as {} (all pods in the namespace)');
    podSelector = { matchLabels: {}, matchExpressions: [] };
  }
  const spec: K8sNetworkPolicySpec = {
    podSelector,
    policyTypesGiven: s.policyTypes !== undefined && s.policyTypes !== null,
  };
  if (spec.policyTypesGiven) {
    spec.policyTypes = [];
    (c.arr(s.policyTypes, ['spec', 'policyTypes']) ?? []).forEach((t, i) => {
      const pt = c.oneOf(t, ['spec', 'policyTypes', i], POLICY_TYPES, { caseWhy: 'Kubernetes is case-sensitive' });
      if (pt) spec.policyTypes!.push(pt);
    });
  }
  const ingress = k8sRules(c, s.ingress, ['spec', 'ingress'], 'from');
  if (ingress) spec.ingress = ingress;
  const egress = k8sRules(c, s.egress, ['spec', 'egress'], 'to');
  if (egress) spec.egress = egress;
  if (staged) spec.stagedAction = c.oneOf(s.stagedAction, ['spec', 'stagedAction'], STAGED_ACTIONS) ?? 'Set';
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes core objects

function k8sProtocol(c: Ctx, v: unknown, path: Path): { protocol: 'TCP' | 'UDP' | 'SCTP'; defaulted: boolean } {
  if (v === undefined || v === null || v === '') return { protocol: 'TCP', defaulted: true };
  return { protocol: c.oneOf(v, path, K8S_PROTOCOLS, { caseWhy: 'Kubernetes is case-sensitive' }) ?? 'TCP', defaulted: false };
}

function objectReference(c: Ctx, v: unknown, path: Path): ObjectReference | undefined {
  const r = c.rec(v, path);
  if (!r) return undefined;
  const o: ObjectReference = {};
  for (const k of ['kind', 'name', 'namespace', 'uid'] as const) {
    const s = c.nstr(r[k], [...path, k]);
    if (s !== undefined) o[k] = s;
  }
  return o;
}

function conditionList(c: Ctx, v: unknown, path: Path): { type: string; status: string; reason?: string; message?: string }[] {
  return (c.arr(v, path) ?? []).flatMap((x, i) => {
    const r = c.rec(x, [...path, i]);
    if (!r) return [];
    const o: { type: string; status: string; reason?: string; message?: string } = {
      type: c.str(r.type, [...path, i, 'type']) ?? '',
      status: c.str(r.status, [...path, i, 'status']) ?? '',
    };
    const reason = c.nstr(r.reason, [...path, i, 'reason']);
    if (reason) o.reason = reason;
    const message = c.nstr(r.message, [...path, i, 'message']);
    if (message) o.message = message;
    return [o];
  });
}

function readyOf(conds: { type: string; status: string }[]): boolean | undefined {
  const r = conds.find((x) => x.type === 'Ready');
  return r ? r.status === 'True' : undefined;
}

function pod(c: Ctx) {
  const meta = readMeta(c, true);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const st = c.rec(c.obj.body.status, ['status']) ?? {};
  const sa = c.nstr(s.serviceAccountName, ['spec', 'serviceAccountName']) ?? c.nstr(s.serviceAccount, ['spec', 'serviceAccount']);
  const ports: ContainerPort[] = [];
  const containers: string[] = [];
  for (const listKey of ['containers', 'initContainers'] as const) {
    (c.arr(s[listKey], ['spec', listKey]) ?? []).forEach((ct, i) => {
      const p = ['spec', listKey, i];
      const cr = c.rec(ct, p);
      if (!cr) return;
      const cname = c.str(cr.name, [...p, 'name']) ?? '';
      if (listKey === 'containers') containers.push(cname);
      (c.arr(cr.ports, [...p, 'ports']) ?? []).forEach((pt, j) => {
        const pp = [...p, 'ports', j];
        const pr = c.rec(pt, pp);
        if (!pr) return;
        const containerPort = c.int(pr.containerPort, [...pp, 'containerPort'], 1, 65535);
        if (containerPort === undefined) {
          if (pr.containerPort === undefined) c.error([...pp, 'containerPort'], 'is missing');
          return;
        }
        const proto = k8sProtocol(c, pr.protocol, [...pp, 'protocol']);
        const port: ContainerPort = { container: cname, containerPort, protocol: proto.protocol, protocolDefaulted: proto.defaulted };
        const name = c.nstr(pr.name, [...pp, 'name']);
        if (name) port.name = name;
        const hostPort = c.int(pr.hostPort, [...pp, 'hostPort'], 0, 65535);
        if (hostPort) port.hostPort = hostPort;
        const hostIP = c.nstr(pr.hostIP, [...pp, 'hostIP']);
        if (hostIP) port.hostIP = hostIP;
        ports.push(port);
      });
    });
  }
  const spec = {
    serviceAccountName: sa ?? 'default',
    serviceAccountDefaulted: sa === undefined,
    hostNetwork: c.bool(s.hostNetwork, ['spec', 'hostNetwork']) ?? false,
    containers,
    ports,
  } as PodSpec;
  const nodeName = c.nstr(s.nodeName, ['spec', 'nodeName']);
  if (nodeName) spec.nodeName = nodeName;
  const conditions = conditionList(c, st.conditions, ['status', 'conditions']).map(({ message: _m, ...rest }) => rest);
  const status: PodStatus = {
    podIPs: (c.arr(st.podIPs, ['status', 'podIPs']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['status', 'podIPs', i]);
      const ip = r && c.ip(r.ip, ['status', 'podIPs', i, 'ip']);
      return ip ? [ip] : [];
    }),
    conditions,
    calicoPodIPs: [],
  };
  const phase = c.nstr(st.phase, ['status', 'phase']);
  if (phase) status.phase = phase;
  const podIP = c.ip(st.podIP, ['status', 'podIP']);
  if (podIP) status.podIP = podIP;
  if (podIP && status.podIPs.length === 0) status.podIPs = [podIP];
  const hostIP = c.ip(st.hostIP, ['status', 'hostIP']);
  if (hostIP) status.hostIP = hostIP;
  const ready = readyOf(conditions);
  if (ready !== undefined) status.ready = ready;
  const ann = meta.annotations;
  if (ann['cni.projectcalico.org/podIP']) status.calicoPodIP = ann['cni.projectcalico.org/podIP'];
  if (ann['cni.projectcalico.org/podIPs'])
    status.calicoPodIPs = ann['cni.projectcalico.org/podIPs']
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  if (ann['cni.projectcalico.org/containerID']) status.calicoContainerID = ann['cni.projectcalico.org/containerID'];
  const t = base(c, 'Pod' as const, 'k8s', meta, spec);
  return finish(c, { ...t, status });
}

function service(c: Ctx) {
  const meta = readMeta(c, true);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const st = c.rec(c.obj.body.status, ['status']) ?? {};
  const defaulted: string[] = [];
  const type = c.oneOf(s.type, ['spec', 'type'], ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const);
  if (s.type === undefined) defaulted.push('type');
  const ports = (c.arr(s.ports, ['spec', 'ports']) ?? []).flatMap((x, i) => {
    const p = ['spec', 'ports', i];
    const r = c.rec(x, p);
    if (!r) return [];
    const port = c.int(r.port, [...p, 'port'], 1, 65535);
    if (port === undefined) {
      if (r.port === undefined) c.error([...p, 'port'], 'is missing');
      return [];
    }
    const proto = k8sProtocol(c, r.protocol, [...p, 'protocol']);
    let targetPort: number | string = port;
    let targetPortDefaulted = true;
    if (typeof r.targetPort === 'number') {
      targetPort = r.targetPort;
      targetPortDefaulted = false;
    } else if (typeof r.targetPort === 'string' && r.targetPort !== '') {
      targetPort = /^\d+$/.test(r.targetPort) ? Number(r.targetPort) : r.targetPort;
      targetPortDefaulted = false;
    } else if (r.targetPort !== undefined && r.targetPort !== null) c.error([...p, 'targetPort'], `should be a number or a port name, got ${show(r.targetPort)}`);
    const sp: ServicePort = { protocol: proto.protocol, port, targetPort, targetPortDefaulted };
    const name = c.nstr(r.name, [...p, 'name']);
    if (name) sp.name = name;
    const nodePort = c.int(r.nodePort, [...p, 'nodePort'], 0, 65535);
    if (nodePort) sp.nodePort = nodePort;
    const appProtocol = c.nstr(r.appProtocol, [...p, 'appProtocol']);
    if (appProtocol) sp.appProtocol = appProtocol;
    return [sp];
  });
  const lbIPs = (c.arr(isRecord(st.loadBalancer) ? st.loadBalancer.ingress : undefined, ['status', 'loadBalancer', 'ingress']) ?? []).flatMap((x, i) => {
    const r = c.rec(x, ['status', 'loadBalancer', 'ingress', i]);
    const ip = r && c.nstr(r.ip, ['status', 'loadBalancer', 'ingress', i, 'ip']);
    return ip ? [ip] : [];
  });
  const sessionAffinity = c.oneOf(s.sessionAffinity, ['spec', 'sessionAffinity'], ['None', 'ClientIP'] as const);
  if (s.sessionAffinity === undefined) defaulted.push('sessionAffinity');
  const spec: ServiceSpec = {
    type: type ?? 'ClusterIP',
    clusterIPs: c.strList(s.clusterIPs, ['spec', 'clusterIPs']),
    externalIPs: c.strList(s.externalIPs, ['spec', 'externalIPs']),
    loadBalancerIPs: lbIPs,
    ports,
    sessionAffinity: sessionAffinity ?? 'None',
    ipFamilies: c.strList(s.ipFamilies, ['spec', 'ipFamilies']),
    publishNotReadyAddresses: c.bool(s.publishNotReadyAddresses, ['spec', 'publishNotReadyAddresses']) ?? false,
    defaulted,
  };
  const clusterIP = c.nstr(s.clusterIP, ['spec', 'clusterIP']);
  if (clusterIP) spec.clusterIP = clusterIP;
  if (clusterIP && spec.clusterIPs.length === 0) spec.clusterIPs = [clusterIP];
  if (s.selector !== undefined && s.selector !== null) spec.selector = c.strMap(s.selector, ['spec', 'selector']);
  // `Global` is the pre-1.22 spelling of `Cluster`.
  const etp = s.externalTrafficPolicy === 'Global' ? 'Cluster' : s.externalTrafficPolicy;
  const e = c.oneOf(etp, ['spec', 'externalTrafficPolicy'], ['Cluster', 'Local'] as const);
  if (e) spec.externalTrafficPolicy = e;
  const itp = c.oneOf(s.internalTrafficPolicy, ['spec', 'internalTrafficPolicy'], ['Cluster', 'Local'] as const);
  if (itp) spec.internalTrafficPolicy = itp;
  const en = c.nstr(s.externalName, ['spec', 'externalName']);
  if (en) spec.externalName = en;
  const hc = c.int(s.healthCheckNodePort, ['spec', 'healthCheckNodePort'], 0, 65535);
  if (hc) spec.healthCheckNodePort = hc;
  return finish(c, base(c, 'Service' as const, 'k8s', meta, spec));
}

function endpointSlice(c: Ctx) {
  const meta = readMeta(c, true);
  const b = c.obj.body;
  const addressType = c.str(b.addressType, ['addressType']) ?? '';
  if (!addressType) c.error(['addressType'], 'is missing');
  else if (!['IPv4', 'IPv6', 'FQDN'].includes(addressType)) c.error(['addressType'], `${show(addressType)} is not one of IPv4, IPv6, FQDN`);
  const endpoints = (c.arr(b.endpoints, ['endpoints']) ?? []).flatMap((x, i) => {
    const p = ['endpoints', i];
    const r = c.rec(x, p);
    if (!r) return [];
    const e: EndpointSliceSpec['endpoints'][number] = { addresses: c.strList(r.addresses, [...p, 'addresses']) };
    const cond = c.rec(r.conditions, [...p, 'conditions']);
    if (cond) {
      for (const k of ['ready', 'serving', 'terminating'] as const) {
        const v = c.bool(cond[k], [...p, 'conditions', k]);
        if (v !== undefined) e[k] = v;
      }
    }
    for (const k of ['nodeName', 'zone', 'hostname'] as const) {
      const v = c.nstr(r[k], [...p, k]);
      if (v) e[k] = v;
    }
    const tr = objectReference(c, r.targetRef, [...p, 'targetRef']);
    if (tr) e.targetRef = tr;
    return [e];
  });
  const ports = (c.arr(b.ports, ['ports']) ?? []).flatMap((x, i) => {
    const p = ['ports', i];
    const r = c.rec(x, p);
    if (!r) return [];
    const o: EndpointSliceSpec['ports'][number] = { protocol: k8sProtocol(c, r.protocol, [...p, 'protocol']).protocol };
    const name = c.nstr(r.name, [...p, 'name']);
    if (name) o.name = name;
    const port = c.int(r.port, [...p, 'port'], 0, 65535);
    if (port !== undefined) o.port = port;
    const ap = c.nstr(r.appProtocol, [...p, 'appProtocol']);
    if (ap) o.appProtocol = ap;
    return [o];
  });
  const spec: EndpointSliceSpec = { addressType, endpoints, ports };
  const svc = meta.labels['kubernetes.io/service-name'];
  if (svc) spec.serviceName = svc;
  return finish(c, base(c, 'EndpointSlice' as const, 'k8s', meta, spec));
}

function endpointsObj(c: Ctx) {
  const meta = readMeta(c, true);
  const addrs = (v: unknown, path: Path): EndpointAddress[] =>
    (c.arr(v, path) ?? []).flatMap((x, i) => {
      const r = c.rec(x, [...path, i]);
      if (!r) return [];
      const a: EndpointAddress = { ip: c.ip(r.ip, [...path, i, 'ip']) ?? '' };
      const h = c.nstr(r.hostname, [...path, i, 'hostname']);
      if (h) a.hostname = h;
      const nn = c.nstr(r.nodeName, [...path, i, 'nodeName']);
      if (nn) a.nodeName = nn;
      const tr = objectReference(c, r.targetRef, [...path, i, 'targetRef']);
      if (tr) a.targetRef = tr;
      return [a];
    });
  const subsets = (c.arr(c.obj.body.subsets, ['subsets']) ?? []).flatMap((x, i) => {
    const p = ['subsets', i];
    const r = c.rec(x, p);
    if (!r) return [];
    return [
      {
        addresses: addrs(r.addresses, [...p, 'addresses']),
        notReadyAddresses: addrs(r.notReadyAddresses, [...p, 'notReadyAddresses']),
        ports: (c.arr(r.ports, [...p, 'ports']) ?? []).flatMap((y, j) => {
          const pr = c.rec(y, [...p, 'ports', j]);
          if (!pr) return [];
          const port = c.int(pr.port, [...p, 'ports', j, 'port'], 0, 65535);
          if (port === undefined) return [];
          const o: EndpointsSpec['subsets'][number]['ports'][number] = { port, protocol: k8sProtocol(c, pr.protocol, [...p, 'ports', j, 'protocol']).protocol };
          const name = c.nstr(pr.name, [...p, 'ports', j, 'name']);
          if (name) o.name = name;
          const ap = c.nstr(pr.appProtocol, [...p, 'ports', j, 'appProtocol']);
          if (ap) o.appProtocol = ap;
          return [o];
        }),
      },
    ];
  });
  return finish(c, base(c, 'Endpoints' as const, 'k8s', meta, { subsets }));
}

const NODE_ANNOTATIONS: [keyof NodeCalicoAnnotations, string][] = [
  ['ipv4Address', 'projectcalico.org/IPv4Address'],
  ['ipv6Address', 'projectcalico.org/IPv6Address'],
  ['ipv4IPIPTunnelAddr', 'projectcalico.org/IPv4IPIPTunnelAddr'],
  ['ipv4VXLANTunnelAddr', 'projectcalico.org/IPv4VXLANTunnelAddr'],
  ['vxlanTunnelMACAddr', 'projectcalico.org/VXLANTunnelMACAddr'],
  ['ipv6VXLANTunnelAddr', 'projectcalico.org/IPv6VXLANTunnelAddr'],
  ['vxlanTunnelMACAddrV6', 'projectcalico.org/VXLANTunnelMACAddrV6'],
  ['routeReflectorClusterID', 'projectcalico.org/RouteReflectorClusterID'],
  ['wireguardPublicKey', 'projectcalico.org/WireguardPublicKey'],
  ['wireguardPublicKeyV6', 'projectcalico.org/WireguardPublicKeyV6'],
  ['ipv4WireguardInterfaceAddr', 'projectcalico.org/IPv4WireguardInterfaceAddr'],
  ['ipv6WireguardInterfaceAddr', 'projectcalico.org/IPv6WireguardInterfaceAddr'],
];

function k8sNode(c: Ctx) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const st = c.rec(c.obj.body.status, ['status']) ?? {};
  const spec: K8sNodeSpec = {
    podCIDRs: c.cidrList(s.podCIDRs, ['spec', 'podCIDRs'], false),
    unschedulable: c.bool(s.unschedulable, ['spec', 'unschedulable']) ?? false,
    taints: (c.arr(s.taints, ['spec', 'taints']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['spec', 'taints', i]);
      if (!r) return [];
      const t: { key: string; value?: string; effect: string } = { key: c.str(r.key, ['spec', 'taints', i, 'key']) ?? '', effect: c.str(r.effect, ['spec', 'taints', i, 'effect']) ?? '' };
      const v = c.nstr(r.value, ['spec', 'taints', i, 'value']);
      if (v) t.value = v;
      return [t];
    }),
  };
  const podCIDR = c.cidr(s.podCIDR, ['spec', 'podCIDR'], false);
  if (podCIDR) spec.podCIDR = podCIDR;
  if (podCIDR && spec.podCIDRs.length === 0) spec.podCIDRs = [podCIDR];
  const pid = c.nstr(s.providerID, ['spec', 'providerID']);
  if (pid) spec.providerID = pid;
  const conditions = conditionList(c, st.conditions, ['status', 'conditions']);
  const status: K8sNodeStatus = {
    addresses: (c.arr(st.addresses, ['status', 'addresses']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['status', 'addresses', i]);
      return r ? [{ type: c.str(r.type, ['status', 'addresses', i, 'type']) ?? '', address: c.str(r.address, ['status', 'addresses', i, 'address']) ?? '' }] : [];
    }),
    conditions,
  };
  const ready = readyOf(conditions);
  if (ready !== undefined) status.ready = ready;
  const info = c.rec(st.nodeInfo, ['status', 'nodeInfo']);
  if (info) {
    for (const k of ['kubeletVersion', 'osImage', 'kernelVersion', 'containerRuntimeVersion'] as const) {
      const v = c.nstr(info[k], ['status', 'nodeInfo', k]);
      if (v) status[k] = v;
    }
  }
  const calico: NodeCalicoAnnotations = {};
  for (const [field, key] of NODE_ANNOTATIONS) {
    const v = meta.annotations[key];
    if (v) (calico as Record<string, string>)[field] = v;
  }
  const asn = meta.annotations['projectcalico.org/ASNumber'];
  if (asn) {
    const n = c.asNumber(asn, ['metadata', 'annotations', 'projectcalico.org/ASNumber']);
    if (n !== undefined) calico.asNumber = n;
  }
  const t = base(c, 'Node' as const, 'k8s', meta, spec);
  return finish(c, { ...t, status, calico });
}

// ---------------------------------------------------------------------------------------------
// Calico objects

function endpointPorts(c: Ctx, v: unknown, path: Path): EndpointPortSpec[] {
  return (c.arr(v, path) ?? []).flatMap((x, i) => {
    const p = [...path, i];
    const r = c.rec(x, p);
    if (!r) return [];
    const port = c.int(r.port, [...p, 'port'], 1, 65535);
    if (port === undefined) {
      if (r.port === undefined) c.error([...p, 'port'], 'is missing');
      return [];
    }
    const o: EndpointPortSpec = { name: c.str(r.name, [...p, 'name']) ?? '', port };
    const proto = protocolValue(c, r.protocol, [...p, 'protocol']);
    if (proto) o.protocol = proto;
    const hp = c.int(r.hostPort, [...p, 'hostPort'], 0, 65535);
    if (hp) o.hostPort = hp;
    const hip = c.nstr(r.hostIP, [...p, 'hostIP']);
    if (hip) o.hostIP = hip;
    return [o];
  });
}

function tier(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const defaulted: string[] = [];
  const da = c.oneOf(s.defaultAction, ['spec', 'defaultAction'], ['Deny', 'Pass'] as const, { caseWhy: 'Calico is case-sensitive' });
  if (s.defaultAction === undefined || s.defaultAction === null) defaulted.push('defaultAction');
  const spec: TierSpec = { defaultAction: da ?? 'Deny', defaulted };
  const order = c.num(s.order, ['spec', 'order']);
  if (order !== undefined) spec.order = order;
  return finish(c, base(c, 'Tier' as const, form, meta, spec));
}

function profile(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const spec: ProfileSpec = { labelsToApply: c.strMap(s.labelsToApply, ['spec', 'labelsToApply']) };
  const lineOf = (p: Path) => c.lineOf(p);
  const ingress = ruleList(c, s.ingress, ['spec', 'ingress'], lineOf);
  if (ingress) spec.ingress = ingress;
  const egress = ruleList(c, s.egress, ['spec', 'egress'], lineOf);
  if (egress) spec.egress = egress;
  return finish(c, base(c, 'Profile' as const, form, meta, spec));
}

function workloadEndpoint(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, true);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const spec: WorkloadEndpointSpec = {
    ipNetworks: c.cidrList(s.ipNetworks, ['spec', 'ipNetworks']),
    ipNATs: (c.arr(s.ipNATs, ['spec', 'ipNATs']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['spec', 'ipNATs', i]);
      return r ? [{ internalIP: c.str(r.internalIP, ['spec', 'ipNATs', i, 'internalIP']) ?? '', externalIP: c.str(r.externalIP, ['spec', 'ipNATs', i, 'externalIP']) ?? '' }] : [];
    }),
    profiles: c.strList(s.profiles, ['spec', 'profiles']),
    ports: endpointPorts(c, s.ports, ['spec', 'ports']),
    allowSpoofedSourcePrefixes: c.cidrList(s.allowSpoofedSourcePrefixes, ['spec', 'allowSpoofedSourcePrefixes']),
  };
  for (const k of ['orchestrator', 'workload', 'node', 'containerID', 'pod', 'endpoint', 'serviceAccountName', 'interfaceName', 'mac', 'ipv4Gateway', 'ipv6Gateway'] as const) {
    const v = c.nstr(s[k], ['spec', k]);
    if (v) spec[k] = v;
  }
  if (spec.interfaceName && !/^[a-zA-Z0-9_.-]{1,15}$/.test(spec.interfaceName)) c.error(['spec', 'interfaceName'], `${show(spec.interfaceName)} is not a valid interface name`);
  const qos = c.rec(s.qosControls, ['spec', 'qosControls']);
  if (qos) {
    spec.qosControls = {};
    for (const [k, v] of Object.entries(qos)) {
      const n = c.num(v, ['spec', 'qosControls', k]);
      if (n !== undefined) spec.qosControls[k] = n;
    }
  }
  return finish(c, base(c, 'WorkloadEndpoint' as const, form, meta, spec));
}

function hostEndpoint(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const spec: HostEndpointSpec = {
    expectedIPs: c.ipList(s.expectedIPs, ['spec', 'expectedIPs']),
    profiles: c.strList(s.profiles, ['spec', 'profiles']),
    ports: endpointPorts(c, s.ports, ['spec', 'ports']),
  };
  const node = c.nstr(s.node, ['spec', 'node']);
  if (node) spec.node = node;
  const iface = c.nstr(s.interfaceName, ['spec', 'interfaceName']);
  if (iface) spec.interfaceName = iface;
  if (!iface && spec.expectedIPs.length === 0) c.error(['spec'], 'a HostEndpoint needs interfaceName or expectedIPs');
  return finish(c, base(c, 'HostEndpoint' as const, form, meta, spec));
}

function networkSet<K extends 'NetworkSet' | 'GlobalNetworkSet'>(c: Ctx, kind: K, form: ResourceForm) {
  const meta = readMeta(c, kind === 'NetworkSet');
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  return finish(c, base(c, kind, form, meta, { nets: c.cidrList(s.nets, ['spec', 'nets']) }));
}

const ENCAP_MODES: readonly EncapMode[] = ['Never', 'Always', 'CrossSubnet'];
const ALLOWED_USES = ['Workload', 'Tunnel', 'LoadBalancer'] as const;

function ipPool(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const defaulted: string[] = [];
  const deprecated: string[] = [];
  const cidr = c.cidr(s.cidr, ['spec', 'cidr'], false) ?? '';
  if (!cidr) c.error(['spec', 'cidr'], 'is missing');
  const ver = cidr ? ipVersionOf(cidr) : undefined;
  let blockSize = c.int(s.blockSize, ['spec', 'blockSize']);
  if (blockSize === undefined) {
    blockSize = ver === 6 ? 122 : 26;
    defaulted.push('blockSize');
  } else if (ver === 4 && (blockSize < 20 || blockSize > 32)) c.error(['spec', 'blockSize'], `${blockSize} is out of range 20–32 for IPv4`);
  else if (ver === 6 && (blockSize < 116 || blockSize > 128)) c.error(['spec', 'blockSize'], `${blockSize} is out of range 116–128 for IPv6`);
  const mode = (k: 'ipipMode' | 'vxlanMode'): EncapMode => {
    const m = c.oneOf(s[k], ['spec', k], ENCAP_MODES, { caseWhy: 'Calico is case-sensitive' });
    if (m) return m;
    if (s[k] === undefined || s[k] === null || s[k] === '') defaulted.push(k);
    return 'Never';
  };
  let ipipMode = mode('ipipMode');
  const vxlanMode = mode('vxlanMode');
  // v1-era fields still found in old CRDs: `ipip: {enabled, mode}` and `nat-outgoing`.
  const ipip = c.rec(s.ipip, ['spec', 'ipip']);
  if (ipip) {
    deprecated.push('ipip');
    if (s.ipipMode === undefined && ipip.enabled === true) {
      ipipMode = ipip.mode === 'cross-subnet' ? 'CrossSubnet' : 'Always';
      defaulted.splice(defaulted.indexOf('ipipMode'), 1);
    }
  }
  let natOutgoing = c.bool(s.natOutgoing, ['spec', 'natOutgoing']);
  if (s['nat-outgoing'] !== undefined) {
    deprecated.push('nat-outgoing');
    if (natOutgoing === undefined) natOutgoing = c.bool(s['nat-outgoing'], ['spec', 'nat-outgoing']);
  }
  if (ver === 6 && ipipMode !== 'Never') c.error(['spec', 'ipipMode'], 'must be Never for an IPv6 pool');
  if (ipipMode !== 'Never' && vxlanMode !== 'Never') c.error(['spec'], 'ipipMode and vxlanMode cannot both be enabled');
  const nodeSelector = c.nstr(s.nodeSelector, ['spec', 'nodeSelector']);
  if (nodeSelector === undefined) defaulted.push('nodeSelector');
  const uses: IPPoolAllowedUse[] = [];
  (c.arr(s.allowedUses, ['spec', 'allowedUses']) ?? []).forEach((u, i) => {
    const x = c.oneOf(u, ['spec', 'allowedUses', i], ALLOWED_USES);
    if (x) uses.push(x);
  });
  if (uses.length === 0) {
    uses.push('Workload', 'Tunnel');
    defaulted.push('allowedUses');
  }
  const am = c.oneOf(s.assignmentMode, ['spec', 'assignmentMode'], ['Automatic', 'Manual'] as const);
  if (!am) defaulted.push('assignmentMode');
  const spec: IPPoolSpec = {
    cidr,
    blockSize,
    ipipMode,
    vxlanMode,
    natOutgoing: natOutgoing ?? false,
    disabled: c.bool(s.disabled, ['spec', 'disabled']) ?? false,
    disableBGPExport: c.bool(s.disableBGPExport, ['spec', 'disableBGPExport']) ?? false,
    nodeSelector: nodeSelector ?? 'all()',
    allowedUses: uses,
    assignmentMode: am ?? 'Automatic',
    defaulted,
  };
  if (ver) spec.ipVersion = ver;
  if (deprecated.length) spec.deprecatedFields = deprecated;
  const nss = c.nstr(s.namespaceSelector, ['spec', 'namespaceSelector']);
  if (nss) spec.namespaceSelector = nss;
  return finish(c, base(c, 'IPPool' as const, form, meta, spec));
}

function ipamBlock(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const cidr = c.cidr(s.cidr, ['spec', 'cidr'], false) ?? '';
  if (!cidr) c.error(['spec', 'cidr'], 'is missing');
  const allocations: (number | null)[] = [];
  (c.arr(s.allocations, ['spec', 'allocations']) ?? []).forEach((a, i) => {
    if (a === null) allocations.push(null);
    else allocations.push(c.int(a, ['spec', 'allocations', i], 0) ?? null);
  });
  const unallocated: number[] = [];
  (c.arr(s.unallocated, ['spec', 'unallocated']) ?? []).forEach((a, i) => {
    const n = c.int(a, ['spec', 'unallocated', i], 0);
    if (n !== undefined) unallocated.push(n);
  });
  const attributes: AllocationAttribute[] = (c.arr(s.attributes, ['spec', 'attributes']) ?? []).map((x, i) => {
    const p = ['spec', 'attributes', i];
    const r = c.rec(x, p) ?? {};
    const a: AllocationAttribute = { secondary: c.strMap(r.secondary, [...p, 'secondary']) };
    const h = c.nstr(r.handle_id, [...p, 'handle_id']);
    if (h) a.handleID = h;
    if (r.alternateOwnerAttrs !== undefined && r.alternateOwnerAttrs !== null) a.alternateOwnerAttrs = c.strMap(r.alternateOwnerAttrs, [...p, 'alternateOwnerAttrs']);
    const rel = c.nstr(r.releasedAt, [...p, 'releasedAt']);
    if (rel) a.releasedAt = rel;
    return a;
  });
  const spec: IPAMBlockSpec = {
    cidr,
    allocations,
    unallocated,
    attributes,
    deleted: c.bool(s.deleted, ['spec', 'deleted']) ?? false,
    strictAffinity: c.bool(s.strictAffinity, ['spec', 'strictAffinity']) ?? false,
  };
  const aff = c.nstr(s.affinity, ['spec', 'affinity']);
  if (aff) {
    spec.affinity = aff;
    const colon = aff.indexOf(':');
    if (colon > 0) {
      spec.affinityType = aff.slice(0, colon);
      spec.affinityNode = aff.slice(colon + 1);
    } else c.warn(['spec', 'affinity'], `${show(aff)} is not of the form "<type>:<name>"`);
  }
  const act = c.nstr(s.affinityClaimTime, ['spec', 'affinityClaimTime']);
  if (act) spec.affinityClaimTime = act;
  const seq = c.int(s.sequenceNumber, ['spec', 'sequenceNumber'], 0);
  if (seq !== undefined) spec.sequenceNumber = seq;
  if (form === 'crd' && cidr && meta.name && meta.name !== ipamBlockNameForCidr(cidr)) c.warn(['metadata', 'name'], `does not match spec.cidr ${cidr} (expected ${ipamBlockNameForCidr(cidr)})`);
  return finish(c, base(c, 'IPAMBlock' as const, form, meta, spec));
}

function blockAffinity(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  let deleted = false;
  // The CRD schema types `deleted` as a string ("true"/"false"); the v3 API as a boolean.
  if (typeof s.deleted === 'boolean') deleted = s.deleted;
  else if (typeof s.deleted === 'string') {
    const d = s.deleted.toLowerCase();
    if (d === 'true') deleted = true;
    else if (d !== 'false' && d !== '') c.error(['spec', 'deleted'], `${show(s.deleted)} is not "true" or "false"`);
  } else if (s.deleted !== undefined && s.deleted !== null) c.error(['spec', 'deleted'], `should be a boolean, got ${show(s.deleted)}`);
  const state = c.str(s.state, ['spec', 'state']) ?? '';
  if (state && !['confirmed', 'pending', 'pendingDeletion'].includes(state)) c.warn(['spec', 'state'], `${show(state)} is not one of confirmed, pending, pendingDeletion`);
  const node = c.str(s.node, ['spec', 'node']) ?? '';
  if (!node) c.error(['spec', 'node'], 'is missing');
  const cidr = c.cidr(s.cidr, ['spec', 'cidr'], false) ?? '';
  if (!cidr) c.error(['spec', 'cidr'], 'is missing');
  const spec: BlockAffinitySpec = { state, node, cidr, deleted };
  const type = c.nstr(s.type, ['spec', 'type']);
  if (type) spec.type = type;
  return finish(c, base(c, 'BlockAffinity' as const, form, meta, spec));
}

function ipamHandle(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const block: Record<string, number> = {};
  const b = c.rec(s.block, ['spec', 'block']);
  if (b) {
    for (const [k, v] of Object.entries(b)) {
      const n = c.int(v, ['spec', 'block', k], 0);
      if (n !== undefined) block[k] = n;
    }
  }
  const handleID = c.str(s.handleID, ['spec', 'handleID']) ?? '';
  if (!handleID) c.error(['spec', 'handleID'], 'is missing');
  const deleted = typeof s.deleted === 'string' ? s.deleted.toLowerCase() === 'true' : (c.bool(s.deleted, ['spec', 'deleted']) ?? false);
  return finish(c, base(c, 'IPAMHandle' as const, form, meta, { handleID, block, deleted }));
}

function ipamConfig(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const spec: IPAMConfigSpec = {
    strictAffinity: c.bool(s.strictAffinity, ['spec', 'strictAffinity']) ?? false,
    autoAllocateBlocks: c.bool(s.autoAllocateBlocks, ['spec', 'autoAllocateBlocks']) ?? true,
    maxBlocksPerHost: c.int(s.maxBlocksPerHost, ['spec', 'maxBlocksPerHost'], 0) ?? 0,
  };
  const kv = c.nstr(s.kubeVirtVMAddressPersistence, ['spec', 'kubeVirtVMAddressPersistence']);
  if (kv) spec.kubeVirtVMAddressPersistence = kv;
  const cd = c.int(s.ipCooldownSeconds, ['spec', 'ipCooldownSeconds'], 0);
  if (cd !== undefined) spec.ipCooldownSeconds = cd;
  return finish(c, base(c, 'IPAMConfig' as const, form, meta, spec));
}

function secretKeyRef(c: Ctx, v: unknown, path: Path): { secretKeyRef?: SecretKeyRef } | undefined {
  if (v === REDACTED) return {};
  const r = c.rec(v, path);
  if (!r) return undefined;
  const out: { secretKeyRef?: SecretKeyRef } = {};
  const ref = c.rec(r.secretKeyRef, [...path, 'secretKeyRef']);
  if (ref) {
    out.secretKeyRef = { name: c.str(ref.name, [...path, 'secretKeyRef', 'name']) ?? '', key: c.str(ref.key, [...path, 'secretKeyRef', 'key']) ?? '' };
    const opt = c.bool(ref.optional, [...path, 'secretKeyRef', 'optional']);
    if (opt !== undefined) out.secretKeyRef.optional = opt;
  }
  return out;
}

function bgpPeer(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const spec: BGPPeerSpec = {
    keepOriginalNextHop: c.bool(s.keepOriginalNextHop, ['spec', 'keepOriginalNextHop']) ?? false,
    filters: c.strList(s.filters, ['spec', 'filters']),
  };
  for (const k of ['node', 'nodeSelector', 'peerSelector', 'nextHopMode', 'sourceAddress', 'maxRestartTime', 'keepaliveTime', 'reachableBy', 'localWorkloadSelector', 'reversePeering'] as const) {
    const v = c.nstr(s[k], ['spec', k]);
    if (v) spec[k] = v;
  }
  const peerIP = c.nstr(s.peerIP, ['spec', 'peerIP']);
  if (peerIP) {
    spec.peerIP = peerIP;
    const v6port = /^\[([^\]]+)\]:(\d+)$/.exec(peerIP);
    const v4port = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(peerIP);
    const m = v6port ?? v4port;
    spec.peerAddress = m ? m[1] : peerIP;
    if (m) spec.peerPort = Number(m[2]);
    if (!isIp(spec.peerAddress)) c.error(['spec', 'peerIP'], `${show(peerIP)} is not an IP or IP:port`);
  }
  const asn = c.asNumber(s.asNumber, ['spec', 'asNumber']);
  if (asn !== undefined) spec.asNumber = asn;
  const lasn = c.asNumber(s.localASNumber, ['spec', 'localASNumber']);
  if (lasn !== undefined) spec.localASNumber = lasn;
  const pw = secretKeyRef(c, s.password, ['spec', 'password']);
  if (pw) spec.password = pw;
  const nal = c.int(s.numAllowedLocalASNumbers, ['spec', 'numAllowedLocalASNumbers'], 0);
  if (nal !== undefined) spec.numAllowedLocalASNumbers = nal;
  const ttl = c.int(s.ttlSecurity, ['spec', 'ttlSecurity'], 0, 255);
  if (ttl !== undefined) spec.ttlSecurity = ttl;
  if (spec.node && spec.nodeSelector) c.error(['spec', 'nodeSelector'], 'cannot be combined with node');
  if (spec.peerIP && spec.peerSelector) c.error(['spec', 'peerSelector'], 'cannot be combined with peerIP');
  if (spec.peerIP && spec.asNumber === undefined) c.error(['spec', 'asNumber'], 'is required with peerIP');
  return finish(c, base(c, 'BGPPeer' as const, form, meta, spec));
}

function cidrBlocks(c: Ctx, v: unknown, path: Path): string[] {
  return (c.arr(v, path) ?? []).flatMap((x, i) => {
    const r = c.rec(x, [...path, i]);
    const cidr = r && c.cidr(r.cidr, [...path, i, 'cidr']);
    return cidr ? [cidr] : [];
  });
}

function scopeOf(name: string): { scope: 'global' | 'node'; scopeNode?: string } {
  return name.startsWith('node.') ? { scope: 'node', scopeNode: name.slice(5) } : { scope: 'global' };
}

function bgpConfiguration(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const defaulted: string[] = [];
  const mesh = c.bool(s.nodeToNodeMeshEnabled, ['spec', 'nodeToNodeMeshEnabled']);
  if (mesh === undefined) defaulted.push('nodeToNodeMeshEnabled');
  const asn = c.asNumber(s.asNumber, ['spec', 'asNumber']);
  if (asn === undefined) defaulted.push('asNumber');
  const port = c.int(s.listenPort, ['spec', 'listenPort'], 1, 65535);
  if (port === undefined) defaulted.push('listenPort');
  const bind = c.nstr(s.bindMode, ['spec', 'bindMode']);
  if (bind === undefined) defaulted.push('bindMode');
  else if (bind !== 'None' && bind !== 'NodeIP') c.error(['spec', 'bindMode'], `${show(bind)} is not one of None, NodeIP`);
  const spec: BGPConfigurationSpec = {
    ...scopeOf(meta.name),
    nodeToNodeMeshEnabled: mesh ?? true,
    asNumber: asn ?? 64512,
    listenPort: port ?? 179,
    bindMode: bind ?? 'None',
    serviceClusterIPs: cidrBlocks(c, s.serviceClusterIPs, ['spec', 'serviceClusterIPs']),
    serviceExternalIPs: cidrBlocks(c, s.serviceExternalIPs, ['spec', 'serviceExternalIPs']),
    serviceLoadBalancerIPs: cidrBlocks(c, s.serviceLoadBalancerIPs, ['spec', 'serviceLoadBalancerIPs']),
    communities: (c.arr(s.communities, ['spec', 'communities']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['spec', 'communities', i]);
      return r ? [{ name: c.str(r.name, ['spec', 'communities', i, 'name']) ?? '', value: c.str(r.value, ['spec', 'communities', i, 'value']) ?? '' }] : [];
    }),
    prefixAdvertisements: (c.arr(s.prefixAdvertisements, ['spec', 'prefixAdvertisements']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['spec', 'prefixAdvertisements', i]);
      return r ? [{ cidr: c.cidr(r.cidr, ['spec', 'prefixAdvertisements', i, 'cidr']) ?? '', communities: c.strList(r.communities, ['spec', 'prefixAdvertisements', i, 'communities']) }] : [];
    }),
    ignoredInterfaces: c.strList(s.ignoredInterfaces, ['spec', 'ignoredInterfaces']),
    defaulted,
  };
  for (const k of ['logSeverityScreen', 'nodeMeshMaxRestartTime', 'localWorkloadPeeringIPV4', 'localWorkloadPeeringIPV6', 'programClusterRoutes'] as const) {
    const v = c.nstr(s[k], ['spec', k]);
    if (v) spec[k] = v;
  }
  const pw = secretKeyRef(c, s.nodeMeshPassword, ['spec', 'nodeMeshPassword']);
  if (pw) spec.nodeMeshPassword = pw;
  return finish(c, base(c, 'BGPConfiguration' as const, form, meta, spec));
}

function bgpFilter(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const rules = (k: 'exportV4' | 'importV4' | 'exportV6' | 'importV6'): BGPFilterRule[] =>
    (c.arr(s[k], ['spec', k]) ?? []).flatMap((x, i) => {
      const p = ['spec', k, i];
      const r = c.rec(x, p);
      if (!r) return [];
      const action = c.oneOf(r.action, [...p, 'action'], ['Accept', 'Reject'] as const, { caseWhy: 'Calico is case-sensitive' });
      if (r.action === undefined) c.error([...p, 'action'], 'is missing');
      const rule: BGPFilterRule = { action: action ?? String(r.action ?? '') };
      const cidr = c.cidr(r.cidr, [...p, 'cidr'], false);
      if (cidr) {
        rule.cidr = cidr;
        const v = ipVersionOf(cidr);
        if (v && v !== (k.endsWith('V4') ? 4 : 6)) c.error([...p, 'cidr'], `${cidr} is not an IPv${k.endsWith('V4') ? 4 : 6} CIDR`);
      }
      const mo = c.oneOf(r.matchOperator, [...p, 'matchOperator'], ['Equal', 'NotEqual', 'In', 'NotIn'] as const);
      if (mo) rule.matchOperator = mo;
      if (cidr && !mo) c.error([...p, 'matchOperator'], 'is required with cidr');
      const pl = c.rec(r.prefixLength, [...p, 'prefixLength']);
      if (pl) {
        const maxLen = k.endsWith('V4') ? 32 : 128;
        rule.prefixLength = {};
        const min = c.int(pl.min, [...p, 'prefixLength', 'min'], 0, maxLen);
        const max = c.int(pl.max, [...p, 'prefixLength', 'max'], 0, maxLen);
        if (min !== undefined) rule.prefixLength.min = min;
        if (max !== undefined) rule.prefixLength.max = max;
      }
      for (const f of ['source', 'interface', 'peerType'] as const) {
        const v = c.nstr(r[f], [...p, f]);
        if (v) rule[f] = v;
      }
      const prio = c.int(r.priority, [...p, 'priority'], 1, 2147483646);
      if (prio !== undefined) rule.priority = prio;
      const comm = c.rec(r.communities, [...p, 'communities']);
      if (comm) rule.communities = c.strList(comm.values, [...p, 'communities', 'values']);
      if (r.asPathPrefix !== undefined) rule.asPathPrefix = (c.arr(r.asPathPrefix, [...p, 'asPathPrefix']) ?? []).flatMap((a, j) => c.asNumber(a, [...p, 'asPathPrefix', j]) ?? []);
      if (r.operations !== undefined) rule.operations = (c.arr(r.operations, [...p, 'operations']) ?? []).flatMap((o, j) => {
          const op = c.rec(o, [...p, 'operations', j]);
          return op ? [op] : [];
        });
      return [rule];
    });
  return finish(c, base(c, 'BGPFilter' as const, form, meta, { exportV4: rules('exportV4'), importV4: rules('importV4'), exportV6: rules('exportV6'), importV6: rules('importV6') }));
}

function protoPorts(c: Ctx, v: unknown, path: Path): ProtoPortSpec[] | undefined {
  if (v === undefined || v === null) return undefined;
  return (c.arr(v, path) ?? []).flatMap((x, i) => {
    const r = c.rec(x, [...path, i]);
    if (!r) return [];
    const port = c.int(r.port, [...path, i, 'port'], 0, 65535);
    if (port === undefined) return [];
    const o: ProtoPortSpec = { protocol: c.nstr(r.protocol, [...path, i, 'protocol']) ?? 'tcp', port };
    const net = c.cidr(r.net, [...path, i, 'net']);
    if (net) o.net = net;
    return [o];
  });
}

function felixConfiguration(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const spec: FelixConfigurationSpec = { ...scopeOf(meta.name), raw: s };
  const P = (k: string): Path => ['spec', k];
  // Felix's enum fields are case-insensitive (CRD patterns `^(?i)(…)?$`); normalise the case.
  const ci = <T extends string>(k: string, allowed: readonly T[]) => (s[k] === '' ? undefined : c.oneOf(s[k], P(k), allowed, { ci: true }));
  const set = <K extends keyof typeof spec>(k: K, v: (typeof spec)[K] | undefined) => {
    if (v !== undefined) spec[k] = v;
  };
  set('defaultEndpointToHostAction', ci('defaultEndpointToHostAction', ['Drop', 'Accept', 'Return'] as const));
  set('chainInsertMode', ci('chainInsertMode', ['Insert', 'Append'] as const));
  set('iptablesBackend', ci('iptablesBackend', ['Auto', 'Legacy', 'NFT'] as const));
  set('logSeverityScreen', ci('logSeverityScreen', ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const));
  set('natOutgoingExclusions', c.oneOf(s.natOutgoingExclusions, P('natOutgoingExclusions'), ['IPPoolsOnly', 'IPPoolsAndHostIPs'] as const));
  set('iptablesFilterAllowAction', ci('iptablesFilterAllowAction', ['Accept', 'Return'] as const));
  set('iptablesMangleAllowAction', ci('iptablesMangleAllowAction', ['Accept', 'Return'] as const));
  set('iptablesFilterDenyAction', ci('iptablesFilterDenyAction', ['Drop', 'Reject'] as const));
  for (const k of ['vxlanEnabled', 'ipipEnabled', 'wireguardEnabled', 'wireguardEnabledV6', 'bpfEnabled', 'prometheusMetricsEnabled', 'ipv6Support'] as const) set(k, c.bool(s[k], P(k)));
  for (const k of ['vxlanPort', 'wireguardListeningPort', 'prometheusMetricsPort', 'healthPort'] as const) set(k, c.int(s[k], P(k), 0, 65535));
  for (const k of ['vxlanVNI', 'vxlanMTU', 'vxlanMTUV6', 'ipipMTU', 'wireguardMTU'] as const) set(k, c.int(s[k], P(k), 0));
  for (const k of ['interfacePrefix', 'mtuIfacePattern', 'wireguardInterfaceName', 'bpfExternalServiceMode', 'nftablesMode', 'natOutgoingAddress', 'iptablesNATOutgoingInterfaceFilter', 'routeSource'] as const)
    set(k, c.nstr(s[k], P(k)));
  if (typeof s.iptablesMarkMask === 'string' && /^0x[0-9a-f]+$/i.test(s.iptablesMarkMask)) {
    c.error(P('iptablesMarkMask'), `should be a number, got the string ${show(s.iptablesMarkMask)}`);
    spec.iptablesMarkMask = parseInt(s.iptablesMarkMask, 16);
  } else set('iptablesMarkMask', c.int(s.iptablesMarkMask, P('iptablesMarkMask'), 0, 0xffffffff));
  if (s.natPortRange !== undefined && s.natPortRange !== null) {
    const pr = portSpec(c, s.natPortRange, P('natPortRange'));
    if (pr) {
      const { raw: _raw, ...ps } = pr;
      spec.natPortRange = ps as PortSpec;
    }
  }
  set('failsafeInboundHostPorts', protoPorts(c, s.failsafeInboundHostPorts, P('failsafeInboundHostPorts')));
  set('failsafeOutboundHostPorts', protoPorts(c, s.failsafeOutboundHostPorts, P('failsafeOutboundHostPorts')));
  const range = (v: unknown, path: Path) => {
    const r = c.rec(v, path);
    if (!r) return undefined;
    const min = c.int(r.min, [...path, 'min'], 0);
    const max = c.int(r.max, [...path, 'max'], 0);
    if (min === undefined || max === undefined) return undefined;
    if (min > max) c.error(path, `min ${min} is above max ${max}`);
    return { min, max };
  };
  set('routeTableRange', range(s.routeTableRange, P('routeTableRange')));
  if (s.routeTableRanges !== undefined && s.routeTableRanges !== null)
    spec.routeTableRanges = (c.arr(s.routeTableRanges, P('routeTableRanges')) ?? []).flatMap((x, i) => range(x, ['spec', 'routeTableRanges', i]) ?? []);
  return finish(c, base(c, 'FelixConfiguration' as const, form, meta, spec));
}

function clusterInformation(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const spec: ClusterInformationSpec = {};
  for (const k of ['calicoVersion', 'clusterType', 'clusterGUID', 'variant'] as const) {
    const v = c.nstr(s[k], ['spec', k]);
    if (v) spec[k] = v;
  }
  const ready = c.bool(s.datastoreReady, ['spec', 'datastoreReady']);
  if (ready !== undefined) spec.datastoreReady = ready;
  return finish(c, base(c, 'ClusterInformation' as const, form, meta, spec));
}

function kubeControllersConfiguration(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const controllers: Record<string, Record<string, unknown>> = {};
  const ctl = c.rec(s.controllers, ['spec', 'controllers']);
  if (ctl) for (const [k, v] of Object.entries(ctl)) controllers[k] = isRecord(v) ? v : {};
  const spec: KubeControllersConfigurationSpec = { controllers, raw: s };
  for (const k of ['logSeverityScreen', 'healthChecks', 'etcdV3CompactionPeriod'] as const) {
    const v = c.nstr(s[k], ['spec', k]);
    if (v) spec[k] = v;
  }
  const st = c.rec(c.obj.body.status, ['status']);
  if (st) spec.status = st;
  return finish(c, base(c, 'KubeControllersConfiguration' as const, form, meta, spec));
}

function calicoNode(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const st = c.rec(c.obj.body.status, ['status']) ?? {};
  const spec: CalicoNodeSpec = {
    addresses: (c.arr(s.addresses, ['spec', 'addresses']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['spec', 'addresses', i]);
      if (!r) return [];
      const a: { address: string; type?: string } = { address: c.str(r.address, ['spec', 'addresses', i, 'address']) ?? '' };
      const t = c.nstr(r.type, ['spec', 'addresses', i, 'type']);
      if (t) a.type = t;
      return [a];
    }),
    orchRefs: (c.arr(s.orchRefs, ['spec', 'orchRefs']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['spec', 'orchRefs', i]);
      if (!r) return [];
      const o: { nodeName?: string; orchestrator: string } = { orchestrator: c.str(r.orchestrator, ['spec', 'orchRefs', i, 'orchestrator']) ?? '' };
      const nn = c.nstr(r.nodeName, ['spec', 'orchRefs', i, 'nodeName']);
      if (nn) o.nodeName = nn;
      return [o];
    }),
    interfaces: (c.arr(s.interfaces, ['spec', 'interfaces']) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['spec', 'interfaces', i]);
      if (!r) return [];
      const o: { name?: string; addresses: string[] } = { addresses: c.strList(r.addresses, ['spec', 'interfaces', i, 'addresses']) };
      const n = c.nstr(r.name, ['spec', 'interfaces', i, 'name']);
      if (n) o.name = n;
      return [o];
    }),
  };
  const bgp = c.rec(s.bgp, ['spec', 'bgp']);
  if (bgp) {
    spec.bgp = {};
    const a4 = c.cidr(bgp.ipv4Address, ['spec', 'bgp', 'ipv4Address']);
    if (a4) spec.bgp.ipv4Address = a4;
    const a6 = c.cidr(bgp.ipv6Address, ['spec', 'bgp', 'ipv6Address']);
    if (a6) spec.bgp.ipv6Address = a6;
    const asn = c.asNumber(bgp.asNumber, ['spec', 'bgp', 'asNumber']);
    if (asn !== undefined) spec.bgp.asNumber = asn;
    const tun = c.ip(bgp.ipv4IPIPTunnelAddr, ['spec', 'bgp', 'ipv4IPIPTunnelAddr']);
    if (tun) spec.bgp.ipv4IPIPTunnelAddr = tun;
    const rr = c.nstr(bgp.routeReflectorClusterID, ['spec', 'bgp', 'routeReflectorClusterID']);
    if (rr) spec.bgp.routeReflectorClusterID = rr;
  }
  for (const k of ['ipv4VXLANTunnelAddr', 'ipv6VXLANTunnelAddr'] as const) {
    const v = c.ip(s[k], ['spec', k]);
    if (v) spec[k] = v;
  }
  for (const k of ['vxlanTunnelMACAddr', 'vxlanTunnelMACAddrV6'] as const) {
    const v = c.nstr(s[k], ['spec', k]);
    if (v) spec[k] = v;
  }
  const wg = c.rec(s.wireguard, ['spec', 'wireguard']);
  if (wg) {
    spec.wireguard = {};
    const w4 = c.ip(wg.interfaceIPv4Address, ['spec', 'wireguard', 'interfaceIPv4Address']);
    if (w4) spec.wireguard.interfaceIPv4Address = w4;
    const w6 = c.ip(wg.interfaceIPv6Address, ['spec', 'wireguard', 'interfaceIPv6Address']);
    if (w6) spec.wireguard.interfaceIPv6Address = w6;
  }
  const status: CalicoNodeStatusFields = { podCIDRs: c.strList(st.podCIDRs, ['status', 'podCIDRs']) };
  const pk = c.nstr(st.wireguardPublicKey, ['status', 'wireguardPublicKey']);
  if (pk) status.wireguardPublicKey = pk;
  const pk6 = c.nstr(st.wireguardPublicKeyV6, ['status', 'wireguardPublicKeyV6']);
  if (pk6) status.wireguardPublicKeyV6 = pk6;
  const t = base(c, 'Node' as const, form, meta, spec);
  return finish(c, { ...t, status });
}

function calicoNodeStatus(c: Ctx, form: ResourceForm) {
  const meta = readMeta(c, false);
  const s = c.rec(c.obj.body.spec, ['spec']) ?? {};
  const st = c.rec(c.obj.body.status, ['status']) ?? {};
  const spec: CalicoNodeStatusSpec = { classes: c.strList(s.classes, ['spec', 'classes']) };
  const node = c.nstr(s.node, ['spec', 'node']);
  if (node) spec.node = node;
  const up = c.int(s.updatePeriodSeconds, ['spec', 'updatePeriodSeconds'], 0, 86400);
  if (up !== undefined) spec.updatePeriodSeconds = up;
  const strs = <T extends object>(r: Json, path: Path, keys: readonly string[]): T => {
    const o: Record<string, string> = {};
    for (const k of keys) {
      const v = c.nstr(r[k], [...path, k]);
      if (v) o[k] = v;
    }
    return o as T;
  };
  const bird = (k: 'birdV4' | 'birdV6'): BirdDaemonStatus | undefined => {
    const agent = c.rec(st.agent, ['status', 'agent']);
    const r = agent && c.rec(agent[k], ['status', 'agent', k]);
    return r ? strs<BirdDaemonStatus>(r, ['status', 'agent', k], ['state', 'version', 'routerID', 'lastBootTime', 'lastReconfigurationTime']) : undefined;
  };
  const bgp = c.rec(st.bgp, ['status', 'bgp']) ?? {};
  const routes = c.rec(st.routes, ['status', 'routes']) ?? {};
  const peers = (k: 'peersV4' | 'peersV6'): NodeStatusPeer[] =>
    (c.arr(bgp[k], ['status', 'bgp', k]) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['status', 'bgp', k, i]);
      return r ? [strs<NodeStatusPeer>(r, ['status', 'bgp', k, i], ['peerIP', 'type', 'state', 'since'])] : [];
    });
  const routeList = (k: 'routesV4' | 'routesV6'): NodeStatusRoute[] =>
    (c.arr(routes[k], ['status', 'routes', k]) ?? []).flatMap((x, i) => {
      const r = c.rec(x, ['status', 'routes', k, i]);
      if (!r) return [];
      const o = strs<NodeStatusRoute>(r, ['status', 'routes', k, i], ['type', 'destination', 'gateway', 'interface']);
      const lf = c.rec(r.learnedFrom, ['status', 'routes', k, i, 'learnedFrom']);
      if (lf) o.learnedFrom = strs(lf, ['status', 'routes', k, i, 'learnedFrom'], ['sourceType', 'peerIP']);
      return [o];
    });
  const status: CalicoNodeStatusStatus = {
    peersV4: peers('peersV4'),
    peersV6: peers('peersV6'),
    routesV4: routeList('routesV4'),
    routesV6: routeList('routesV6'),
  };
  const lu = c.nstr(st.lastUpdated, ['status', 'lastUpdated']);
  if (lu) status.lastUpdated = lu;
  const b4 = bird('birdV4');
  if (b4) status.birdV4 = b4;
  const b6 = bird('birdV6');
  if (b6) status.birdV6 = b6;
  for (const k of ['numberEstablishedV4', 'numberNotEstablishedV4', 'numberEstablishedV6', 'numberNotEstablishedV6'] as const) {
    const n = c.int(bgp[k], ['status', 'bgp', k], 0);
    if (n !== undefined) status[k] = n;
  }
  const t = base(c, 'CalicoNodeStatus' as const, form, meta, spec);
  return finish(c, { ...t, status });
}

// ---------------------------------------------------------------------------------------------
// Classification

type Builder = (c: Ctx, form: ResourceForm) => TypedResource<string, unknown>;

interface Route {
  bucket: ClusterResourceArrayKey;
  build: Builder;
}

const CALICO_ROUTES: Record<string, Route> = {
  NetworkPolicy: { bucket: 'calicoNetworkPolicies', build: (c, f) => calicoPolicy(c, 'NetworkPolicy', f) },
  GlobalNetworkPolicy: { bucket: 'globalNetworkPolicies', build: (c, f) => calicoPolicy(c, 'GlobalNetworkPolicy', f) },
  StagedNetworkPolicy: { bucket: 'stagedNetworkPolicies', build: (c, f) => calicoPolicy(c, 'StagedNetworkPolicy', f) },
  StagedGlobalNetworkPolicy: { bucket: 'stagedGlobalNetworkPolicies', build: (c, f) => calicoPolicy(c, 'StagedGlobalNetworkPolicy', f) },
  StagedKubernetesNetworkPolicy: {
    bucket: 'stagedKubernetesNetworkPolicies',
    build: (c, f) => {
      const meta = readMeta(c, true);
      return finish(c, base(c, 'StagedKubernetesNetworkPolicy' as const, f, meta, k8sPolicySpec(c, true)));
    },
  },
  Tier: { bucket: 'tiers', build: tier },
  Profile: { bucket: 'profiles', build: profile },
  WorkloadEndpoint: { bucket: 'workloadEndpoints', build: workloadEndpoint },
  HostEndpoint: { bucket: 'hostEndpoints', build: hostEndpoint },
  NetworkSet: { bucket: 'networkSets', build: (c, f) => networkSet(c, 'NetworkSet', f) },
  GlobalNetworkSet: { bucket: 'globalNetworkSets', build: (c, f) => networkSet(c, 'GlobalNetworkSet', f) },
  IPPool: { bucket: 'ipPools', build: ipPool },
  IPAMBlock: { bucket: 'ipamBlocks', build: ipamBlock },
  BlockAffinity: { bucket: 'blockAffinities', build: blockAffinity },
  IPAMHandle: { bucket: 'ipamHandles', build: ipamHandle },
  IPAMConfig: { bucket: 'ipamConfigs', build: ipamConfig },
  IPAMConfiguration: { bucket: 'ipamConfigs', build: ipamConfig },
  BGPPeer: { bucket: 'bgpPeers', build: bgpPeer },
  BGPConfiguration: { bucket: 'bgpConfigurations', build: bgpConfiguration },
  BGPFilter: { bucket: 'bgpFilters', build: bgpFilter },
  FelixConfiguration: { bucket: 'felixConfigurations', build: felixConfiguration },
  ClusterInformation: { bucket: 'clusterInformations', build: clusterInformation },
  KubeControllersConfiguration: { bucket: 'kubeControllersConfigurations', build: kubeControllersConfiguration },
  CalicoNodeStatus: { bucket: 'caliconodestatuses', build: calicoNodeStatus },
};

const V3_ONLY_ROUTES: Record<string, Route> = {
  // The Calico Node exists only in the v3 API (in KDD mode its data live on the Kubernetes Node).
  Node: { bucket: 'calicoNodes', build: calicoNode },
};

const simple = <K extends string>(kind: K, namespaced: boolean): Builder => (c, f) => finish(c, base(c, kind, f, readMeta(c, namespaced), {}));

const K8S_ROUTES: Record<string, Record<string, Route>> = {
  '': {
    Pod: { bucket: 'pods', build: pod },
    Namespace: {
      bucket: 'namespaces',
      build: (c, f) => {
        const meta = readMeta(c, false);
        const st = c.rec(c.obj.body.status, ['status']);
        const phase = st && c.nstr(st.phase, ['status', 'phase']);
        return finish(c, base(c, 'Namespace', f, meta, phase ? { phase } : {}));
      },
    },
    Node: { bucket: 'nodes', build: k8sNode },
    ServiceAccount: { bucket: 'serviceAccounts', build: simple('ServiceAccount', true) },
    Service: { bucket: 'services', build: service },
    Endpoints: { bucket: 'endpoints', build: endpointsObj },
  },
  'networking.k8s.io': {
    NetworkPolicy: {
      bucket: 'k8sNetworkPolicies',
      build: (c, f) => {
        const meta = readMeta(c, true);
        return finish(c, base(c, 'NetworkPolicy' as const, f, meta, k8sPolicySpec(c, false)));
      },
    },
  },
  'discovery.k8s.io': { EndpointSlice: { bucket: 'endpointSlices', build: endpointSlice } },
};
// Pre-1.16 clusters served NetworkPolicy from extensions/v1beta1 with the same shape.
K8S_ROUTES.extensions = { NetworkPolicy: K8S_ROUTES['networking.k8s.io'].NetworkPolicy };

/** Kinds whose group is unambiguous, for objects written without apiVersion. */
function routeWithoutApiVersion(kind: string): { route: Route; form: ResourceForm; assumed: string } | undefined {
  if (kind === 'Node' || kind === 'NetworkPolicy') return undefined;
  if (CALICO_ROUTES[kind]) return { route: CALICO_ROUTES[kind], form: 'v3', assumed: 'projectcalico.org/v3' };
  for (const [group, kinds] of Object.entries(K8S_ROUTES)) {
    if (kinds[kind] && group !== 'extensions') return { route: kinds[kind], form: 'k8s', assumed: group ? `${group}/v1` : 'v1' };
  }
  return undefined;
}

function classify(o: ResourceObject): { route: Route; form: ResourceForm } | undefined {
  const slash = o.apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : o.apiVersion.slice(0, slash);
  const version = slash < 0 ? o.apiVersion : o.apiVersion.slice(slash + 1);
  if (group === 'projectcalico.org' && version === 'v3') {
    const r = CALICO_ROUTES[o.kind] ?? V3_ONLY_ROUTES[o.kind];
    return r && { route: r, form: 'v3' };
  }
  if (group === 'crd.projectcalico.org' && version === 'v1') {
    const r = CALICO_ROUTES[o.kind];
    return r && { route: r, form: 'crd' };
  }
  const r = K8S_ROUTES[group]?.[o.kind];
  if (r && (group !== '' || version === 'v1')) return { route: r, form: 'k8s' };
  return undefined;
}

function dedupeKey(t: TypedResource<string, unknown>): string {
  const spec = t.spec as Partial<CalicoPolicySpec>;
  const name = spec.policyName !== undefined && spec.tier !== undefined ? `${spec.tier}/${spec.policyName}` : t.metadata.name;
  return `${t.metadata.namespace ?? ''}\u0000${name}`;
}

export interface BuildOptions {
  /** File texts by artifact, so that issues and rules can point at the exact line of a field. */
  texts?: Map<string, string> | ((artifact: string) => string | undefined);
}

export function buildClusterResources(objects: ResourceObject[], opts: BuildOptions = {}): Parsed<ClusterResources> {
  const book = new IssueBook();
  const res = emptyClusterResources();
  const textOf = (a: string) => (typeof opts.texts === 'function' ? opts.texts(a) : opts.texts?.get(a));
  const seen = new Map<ClusterResourceArrayKey, Map<string, number>>();

  for (const o of objects) {
    let found = classify(o);
    const label = `${o.kind} ${objectRef(metaRef(o.body))}`;
    if (!found && o.apiVersion === '') {
      const guess = routeWithoutApiVersion(o.kind);
      if (guess) {
        book.sink(o.source.artifact).warn(o.source.line, `${label}: no apiVersion; read as ${guess.assumed}`);
        found = { route: guess.route, form: guess.form };
      } else if (o.kind === 'Node' || o.kind === 'NetworkPolicy') {
        book.sink(o.source.artifact).warn(o.source.line, `${label}: no apiVersion, and ${o.kind} exists in both Kubernetes and Calico; not read`);
      }
    }
    if (!found) {
      res.other.push(o);
      const k = `${o.apiVersion || '<no apiVersion>'} ${o.kind}`;
      res.otherCounts[k] = (res.otherCounts[k] ?? 0) + 1;
      continue;
    }
    const c = new Ctx(o, label, book, textOf(o.source.artifact));
    let typed: TypedResource<string, unknown>;
    try {
      typed = found.route.build(c, found.form);
    } catch (e) {
      // A bug in a builder must not lose the rest of the cluster.
      book.sink(o.source.artifact).error(o.source.line, `${label}: internal error while reading: ${(e as Error).message}`);
      continue;
    }
    const bucket = found.route.bucket;
    const arr = res[bucket] as TypedResource<string, unknown>[];
    let index = seen.get(bucket);
    if (!index) seen.set(bucket, (index = new Map()));
    const key = dedupeKey(typed);
    const prev = index.get(key);
    if (prev !== undefined) {
      const p = arr[prev].source;
      book.sink(o.source.artifact).warn(o.source.line, `${label}: also defined at ${p.artifact}:${p.line}; the later one (this) is used`);
      arr[prev] = typed;
    } else {
      index.set(key, arr.length);
      arr.push(typed);
    }
  }
  return { value: res, issues: book.finish() };
}

function metaRef(body: Json): { name?: string; namespace?: string } {
  const m = isRecord(body.metadata) ? body.metadata : {};
  return { name: typeof m.name === 'string' ? m.name : undefined, namespace: typeof m.namespace === 'string' ? m.namespace : undefined };
}

/** Parses every file and builds the model. Pure: takes contents, does no I/O. */
export function loadClusterDir(files: { path: string; text: string }[]): Parsed<ClusterResources> {
  const issues: ParseIssue[] = [];
  const objects: ResourceObject[] = [];
  const texts = new Map<string, string>();
  for (const f of files) {
    texts.set(f.path, f.text);
    const r = parseResourceFile(f.text, f.path);
    issues.push(...r.issues);
    for (const o of r.value) objects.push(o);
  }
  const built = buildClusterResources(objects, { texts });
  issues.push(...built.issues);
  return { value: built.value, issues };
}

export type { ResourceObject, ResourceSource } from '../model/resources.js';

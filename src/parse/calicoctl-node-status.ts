/**
 * Parser for `calicoctl node status` (calico-formats.md §1). The peer tables are ASCII boxes
 * drawn by tablewriter (≤ v3.30: centred headers, INFO wrapped at 30 characters onto continuation
 * rows whose other cells are blank) or go-pretty (HEAD: left-aligned, no wrapping). Rows are split
 * on `|` and trimmed, so alignment and width never matter.
 */
import { splitBgpInfo, type CalicoNodeStatus, type NodeStatusPeer } from '../model/bgp.js';
import { IssueSink, type Parsed } from '../model/evidence.js';
import { forEachLine, looksBinary } from './lines.js';

const MAX_LINE = 64 * 1024;
const DATE_LIKE = /^(\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4})$/;
const TIME_LIKE = /^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$/;

type Column = 'address' | 'type' | 'state' | 'since' | 'info';
const HEADER_NAMES: Record<string, Column> = {
  'PEER ADDRESS': 'address',
  'PEER TYPE': 'type',
  STATE: 'state',
  SINCE: 'since',
  INFO: 'info',
};
const DEFAULT_COLUMNS: Column[] = ['address', 'type', 'state', 'since', 'info'];

function cells(line: string): string[] {
  const t = line.trim();
  const inner = t.slice(1, t.endsWith('|') && t.length > 1 ? -1 : undefined);
  return inner.split('|').map((c) => c.trim());
}

function finishPeer(p: NodeStatusPeer): void {
  // calicoctl splits BIRD's row on blanks, so a `since` of "date time" leaves the time at the
  // start of INFO; put it back where it belongs.
  if (DATE_LIKE.test(p.since)) {
    const sp = p.info.indexOf(' ');
    const first = sp < 0 ? p.info : p.info.slice(0, sp);
    if (TIME_LIKE.test(first)) {
      p.since = `${p.since} ${first}`;
      p.info = sp < 0 ? '' : p.info.slice(sp + 1).trim();
    }
  }
  const { bgpState, lastError } = splitBgpInfo(p.info);
  if (bgpState !== undefined) p.bgpState = bgpState;
  else delete p.bgpState;
  if (lastError !== undefined) p.lastError = lastError;
  else delete p.lastError;
}

export function parseCalicoctlNodeStatus(text: string, artifact: string): Parsed<CalicoNodeStatus> {
  const sink = new IssueSink(artifact);
  const status: CalicoNodeStatus = { running: undefined, messages: [], ipv4Peers: [], ipv6Peers: [] };
  if (looksBinary(text)) {
    sink.error(0, 'binary data, not `calicoctl node status` output');
    return { value: status, issues: sink.finish() };
  }
  let family: 4 | 6 | undefined;
  let columns: Column[] = DEFAULT_COLUMNS;
  let warnedNoTitle = false;
  let last: NodeStatusPeer | undefined;
  let recognised = 0;

  const flush = () => {
    if (last) finishPeer(last);
    last = undefined;
  };

  forEachLine(text, (line, no) => {
    if (line.length > MAX_LINE) {
      sink.warn(no, `line of ${line.length} characters skipped`);
      return;
    }
    const t = line.trim();
    if (t === '') {
      flush();
      return;
    }
    if (/^\+[-+=]*\+$/.test(t)) {
      // Border: top, header separator or bottom of a table.
      recognised++;
      return;
    }
    if (t.startsWith('|')) {
      recognised++;
      const c = cells(t);
      const upper = c.map((x) => x.toUpperCase());
      if (upper.includes('PEER ADDRESS')) {
        flush();
        columns = upper.map((h) => HEADER_NAMES[h] ?? 'info');
        return;
      }
      if (family === undefined && !warnedNoTitle) {
        warnedNoTitle = true;
        sink.warn(no, 'peer table before an "IPv4/IPv6 BGP status" title; taken as IPv4');
      }
      const get = (col: Column) => {
        const i = columns.indexOf(col);
        return i >= 0 && i < c.length ? c[i] : '';
      };
      const address = get('address');
      if (address === '') {
        // tablewriter's wrapped continuation: append each non-empty cell to the row above.
        if (!last) {
          sink.warn(no, 'table continuation row without a peer row above');
          return;
        }
        for (const col of ['type', 'state', 'since', 'info'] as const) {
          const v = get(col);
          if (v !== '') last[col] = last[col] === '' ? v : `${last[col]} ${v}`;
        }
        return;
      }
      flush();
      if (c.length < 5) sink.warn(no, `peer row has ${c.length} cells, expected 5`);
      last = { address, type: get('type'), state: get('state'), since: get('since'), info: get('info'), line: no };
      (family === 6 ? status.ipv6Peers : status.ipv4Peers).push(last);
      return;
    }
    flush();
    const fam = /^IPv([46]) BGP status$/i.exec(t);
    if (fam) {
      family = fam[1] === '6' ? 6 : 4;
      columns = DEFAULT_COLUMNS;
      recognised++;
      return;
    }
    const none = /^No IPv([46]) peers found\.?$/i.exec(t);
    if (none) {
      if (none[1] === '6') status.noIpv6Peers = true;
      else status.noIpv4Peers = true;
      recognised++;
      return;
    }
    if (/^Calico process is running\.?$/i.test(t)) {
      status.running = true;
      recognised++;
    } else if (/^Calico process is not running\.?$/i.test(t)) {
      status.running = false;
      recognised++;
    } else if (/BGP backend process|BIRDv[46] process|bird\.ctl|bird6\.ctl/i.test(t)) {
      recognised++;
    }
    status.messages.push(t);
  });
  flush();
  if (recognised === 0 && text.trim() !== '') sink.warn(0, 'no `calicoctl node status` content found');
  return { value: status, issues: sink.finish() };
}

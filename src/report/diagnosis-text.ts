/** Terminal rendering of a diagnosis: grouped by severity, each finding with evidence and remediation. */
import type { Diagnosis } from '../checks/run.js';
import type { Finding } from '../checks/types.js';
import type { Style } from './style.js';

function evidenceLine(e: Finding['evidence'][number]): string {
  const loc = `${e.artifact}${e.line ? `:${e.line}` : ''}`;
  return `${loc}${e.text ? `  ${e.text.length > 200 ? `${e.text.slice(0, 200)}…` : e.text}` : ''}${e.note ? `  (${e.note})` : ''}`;
}

export function renderFindingText(f: Finding, st: Style, n: number): string[] {
  const sev = f.severity === 'error' ? st.red('ERROR  ') : f.severity === 'warning' ? st.yellow('WARNING') : st.cyan('INFO   ');
  const out = [`${sev} ${st.bold(`${n}. ${f.title}`)} ${st.dim(`[${f.check}${f.node ? ` · ${f.node}` : ''}]`)}`];
  for (const l of f.explanation.split('\n')) out.push(`        ${l}`);
  if (f.evidence.length) {
    out.push(`        ${st.dim('evidence:')}`);
    for (const e of f.evidence.slice(0, 8)) out.push(`          ${evidenceLine(e)}`);
    if (f.evidence.length > 8) out.push(st.dim(`          … ${f.evidence.length - 8} more (see --json)`));
  }
  out.push(`        ${st.dim('fix:')} ${f.remediation.summary}`);
  for (const c of f.remediation.confirm ?? []) out.push(`          ${st.dim('confirm:')} ${c}`);
  for (const c of f.remediation.fix ?? []) out.push(`          ${st.dim('fix:')} ${c}`);
  if (f.remediation.yaml) for (const l of f.remediation.yaml.trimEnd().split('\n')) out.push(`          ${st.dim('|')} ${l}`);
  return out;
}

export function renderDiagnosisText(d: Diagnosis, st: Style): string {
  const out: string[] = [st.bold(`caliscope diagnose ${d.bundle}`), ''];
  d.findings.forEach((f, i) => {
    out.push(...renderFindingText(f, st, i + 1), '');
  });
  if (d.findings.length === 0) out.push(st.green('No problems found.'), '');
  if (d.notChecked.length) {
    out.push(st.dim('Not checked:'));
    const seen = new Set<string>();
    for (const n of d.notChecked) {
      const line = `  ${n.check}${n.node ? ` (${n.node})` : ''}: ${n.reason}`;
      if (!seen.has(line)) out.push(st.dim(line));
      seen.add(line);
    }
    out.push('');
  }
  for (const f of d.failedChecks) out.push(st.yellow(`check ${f.check} failed: ${f.error}`));
  out.push(st.bold(`${d.counts.error} errors, ${d.counts.warning} warnings, ${d.counts.info} info — ${d.checksRun.length} checks run`));
  return out.join('\n');
}

export function renderDiagnosisMarkdown(d: Diagnosis): string {
  const out: string[] = [`# caliscope diagnosis`, '', `Bundle: \`${d.bundle}\` — **${d.counts.error} errors, ${d.counts.warning} warnings, ${d.counts.info} info**`, ''];
  d.findings.forEach((f, i) => {
    out.push(`## ${i + 1}. ${f.severity.toUpperCase()}: ${f.title}`, '', `\`${f.check}\`${f.node ? ` on \`${f.node}\`` : ''}`, '', f.explanation, '');
    if (f.evidence.length) {
      out.push('Evidence:', '', '```');
      for (const e of f.evidence) out.push(evidenceLine(e));
      out.push('```', '');
    }
    out.push(`**Fix:** ${f.remediation.summary}`, '');
    const cmds = [...(f.remediation.confirm ?? []).map((c) => `# confirm\n${c}`), ...(f.remediation.fix ?? []).map((c) => `# fix\n${c}`)];
    if (cmds.length) out.push('```sh', ...cmds, '```', '');
    if (f.remediation.yaml) out.push('```yaml', f.remediation.yaml.trimEnd(), '```', '');
  });
  if (d.notChecked.length) {
    out.push('## Not checked', '');
    for (const n of d.notChecked) out.push(`- \`${n.check}\`${n.node ? ` (${n.node})` : ''}: ${n.reason}`);
    out.push('');
  }
  return out.join('\n');
}

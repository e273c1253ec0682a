/** The caliscope web client: one page, six views, hash-routed. */
import { render } from 'preact';
import './styles.css';
import { isReport, report } from './api';
import { ErrorBox, Loading, useApi } from './components';
import { VIEWS, hrefFor, useRoute, type ViewName } from './router';
import type { SummaryResponse } from './types';
import { FindingsView } from './views/findings';
import { TopologyView } from './views/topology';
import { TraceView } from './views/trace';
import { PolicyView } from './views/policy';
import { RulesView } from './views/rules';
import { MatrixView } from './views/matrix';

/** Views a report file can show (the others need the server). */
const REPORT_VIEWS: ViewName[] = ['findings', 'trace'];

function Header({ s, view }: { s?: SummaryResponse; view: ViewName }) {
  const views = isReport ? VIEWS.filter((v) => REPORT_VIEWS.includes(v.id)) : VIEWS;
  const sum = s?.summary;
  return (
    <header class="top">
      <div class="brand">
        <span class="logo" aria-hidden="true">◉</span> caliscope
        {isReport && <span class="badge badge-info">report</span>}
      </div>
      <nav class="tabs" aria-label="views">
        {views.map((v) => (
          <a key={v.id} href={hrefFor(v.id)} class={v.id === view ? 'tab active' : 'tab'} data-testid={`nav-${v.id}`} aria-current={v.id === view ? 'page' : undefined}>
            {isReport && v.id === 'trace' ? 'Traces' : v.label}
          </a>
        ))}
      </nav>
      {s && (
        <div class="bundle-info" title={s.origin}>
          <span class="muted">bundle</span> {s.origin.split('/').filter(Boolean).pop()} · {sum?.nodes.length ?? 0} nodes · {s.endpoints.length} endpoints
          {sum && sum.issues.errors + sum.issues.warnings > 0 && (
            <span class="muted">
              {' '}
              · {sum.issues.errors} parse errors, {sum.issues.warnings} warnings
            </span>
          )}
          {isReport && report && <span class="muted"> · generated {report.generatedAt}</span>}
        </div>
      )}
    </header>
  );
}

function App() {
  const route = useRoute();
  const s = useApi<SummaryResponse>('/api/summary');
  const view = isReport && !REPORT_VIEWS.includes(route.view) ? 'findings' : route.view;
  let body;
  if (s.error) body = <ErrorBox error={`cannot load the bundle summary: ${s.error}`} />;
  else if (!s.data) body = <Loading what="bundle" />;
  else {
    const p = route.params;
    switch (view) {
      case 'findings':
        body = <FindingsView params={p} />;
        break;
      case 'topology':
        body = <TopologyView params={p} summary={s.data} />;
        break;
      case 'trace':
        body = <TraceView params={p} summary={s.data} />;
        break;
      case 'policy':
        body = <PolicyView params={p} summary={s.data} />;
        break;
      case 'rules':
        body = <RulesView params={p} summary={s.data} />;
        break;
      case 'matrix':
        body = <MatrixView params={p} summary={s.data} />;
        break;
    }
  }
  return (
    <div class="app" data-view={view}>
      <Header s={s.data} view={view} />
      <main class={`view view-${view}`} data-testid={`view-${view}`}>
        {body}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);

/** Hash routing: `#/<view>?<params>`, so every view state (a trace query included) is a URL. */
import { useEffect, useState } from 'preact/hooks';

export type ViewName = 'findings' | 'topology' | 'trace' | 'policy' | 'rules' | 'matrix';
export const VIEWS: { id: ViewName; label: string }[] = [
  { id: 'findings', label: 'Findings' },
  { id: 'topology', label: 'Topology' },
  { id: 'trace', label: 'Trace' },
  { id: 'policy', label: 'Policy' },
  { id: 'rules', label: 'Rules' },
  { id: 'matrix', label: 'Matrix' },
];

export interface Route {
  view: ViewName;
  params: Record<string, string>;
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const q = h.indexOf('?');
  const name = (q < 0 ? h : h.slice(0, q)) as ViewName;
  const params: Record<string, string> = {};
  if (q >= 0) for (const [k, v] of new URLSearchParams(h.slice(q + 1))) params[k] = v;
  return { view: VIEWS.some((v) => v.id === name) ? name : 'findings', params };
}

export function hrefFor(view: ViewName, params: Record<string, string | number | undefined> = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return `#/${view}${s ? `?${s}` : ''}`;
}

export function navigate(view: ViewName, params: Record<string, string | number | undefined> = {}, replace = false): void {
  const href = hrefFor(view, params);
  if (replace) {
    history.replaceState(history.state, '', href);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else location.hash = href;
}

function hrefOfRoute(r: Route): string {
  return hrefFor(r.view, r.params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute((r) => (hrefOfRoute(r) === hrefOfRoute(parseHash(location.hash)) ? r : parseHash(location.hash)));
    window.addEventListener('hashchange', on);
    // The hash may have changed between the first render and this effect.
    on();
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

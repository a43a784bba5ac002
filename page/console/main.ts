// The analyst and admin console: one page whose path is the route (/console (surveys), /console/surveys/{id},
// /console/compare, /console/live, /console/keys, /console/users, /console/account, /console/login).
import { api, errorWords, ApiError } from './api.js';
import { h, say } from './dom.js';
import { homeView } from './home-view.js';
import { keysView } from './keys-view.js';
import { loginView } from './login-view.js';
import { navigate, setRouteHandler } from './navigate.js';
import { MeSchema, type MeView } from './schemas.js';
import { usersView } from './users-view.js';
import { compareView } from './surveys/compare-view.js';
import { liveView } from './surveys/live-view.js';
import { surveyDetailView } from './surveys/survey-detail-view.js';
import { surveyListView } from './surveys/survey-list-view.js';

/** Draws a page into `root`; may answer a function that stops it (polling, media) before the next page is drawn. */
type View = (root: HTMLElement, me: MeView) => void | (() => void) | Promise<void>;

const ROUTES: Record<string, { title: string; view: View }> = {
  '/console': { title: 'Surveys', view: surveyListView },
  '/console/live': { title: 'Live', view: liveView },
  '/console/compare': { title: 'Compare', view: (root, me) => compareView(root, me, (new URLSearchParams(location.search).get('ids') ?? '').split(',').filter(Boolean)) },
  '/console/keys': { title: 'Keys', view: keysView },
  '/console/users': { title: 'Users', view: usersView },
  '/console/account': { title: 'Account', view: homeView },
};

/** The route of a path: a fixed one, or one survey's page. */
function routeOf(path: string): { title: string; view: View } | undefined {
  const survey = /^\/console\/surveys\/([^/]+)$/.exec(path);
  if (survey) {
    const id = decodeURIComponent(survey[1]!);
    return { title: 'Survey', view: (root, me) => surveyDetailView(root, me, id) };
  }
  return ROUTES[path];
}

const root = document.getElementById('view') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;

/** The header's links and who is logged in, with Log out. */
function drawNav(me: MeView | null, path: string): void {
  if (!me) return nav.replaceChildren();
  const link = (href: string, text: string) => h('a', { href, 'aria-current': href === path ? 'page' : null }, text);
  const logout = h('button', { id: 'logout', type: 'button' }, 'Log out');
  logout.addEventListener('click', () => {
    void api('POST', '/api/auth/logout', null)
      .catch(() => undefined)
      .then(() => navigate('/console/login'));
  });
  nav.replaceChildren(
    link('/console', 'Surveys'),
    link('/console/live', 'Live'),
    link('/console/keys', 'Keys'),
    ...(me.role === 'admin' ? [link('/console/users', 'Users')] : []),
    link('/console/account', 'Account'),
    h('span', { id: 'whoami', class: 'muted' }, `${me.login} (${me.role})`),
    logout,
  );
}

let stopView: (() => void) | null = null;
/** Counts route() calls, so an answer that arrives after the person moved on draws nothing. */
let drawing = 0;

/** Draws the page for the current path: the login page, or (once logged in) the route's view. */
async function route(): Promise<void> {
  const mine = ++drawing;
  stopView?.();
  stopView = null;
  const path = location.pathname.replace(/\/+$/, '') || '/console';
  if (path === '/console/login') {
    document.title = 'Log in — NetPoke';
    drawNav(null, path);
    return loginView(root);
  }
  let me: MeView;
  try {
    me = await api('GET', '/api/auth/me', MeSchema);
  } catch (err) {
    if (mine !== drawing) return;
    if (err instanceof ApiError && err.code === 'auth_required') return navigate(`/console/login?${new URLSearchParams({ return_to: path + location.search })}`, true);
    drawNav(null, path);
    root.replaceChildren(h('section', { class: 'panel' }, h('p', { class: 'status', 'data-kind': 'error', role: 'alert' }, errorWords(err))));
    return;
  }
  if (mine !== drawing) return;
  drawNav(me, path);
  const found = routeOf(path);
  if (!found) {
    document.title = 'Not found — NetPoke';
    root.replaceChildren(h('section', { class: 'panel' }, h('h2', {}, 'No such page'), h('p', {}, 'This console page does not exist. '), h('a', { href: '/console' }, 'Go to the surveys')));
    return;
  }
  document.title = `${found.title} — NetPoke`;
  const stop = await found.view(root, me);
  if (typeof stop !== 'function') return;
  if (mine === drawing) stopView = stop;
  else stop(); // Another page is already being drawn.
}

const draw = () => void route().catch((err: unknown) => say(root, errorWords(err), 'error'));
setRouteHandler(draw);

// Links inside the console move without reloading; others (the measurement page, provider sign-in) load normally.
document.addEventListener('click', (ev) => {
  const a = (ev.target as Element | null)?.closest?.('a');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === '/console' || url.pathname.startsWith('/console/'))) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', draw);
draw();

// Moves between console pages without reloading: the path is the route (/console, /console/keys, …).

let onRoute: () => void = () => {};

/** Registers the function that draws the page for the current path. */
export function setRouteHandler(handler: () => void): void {
  onRoute = handler;
}

/** Goes to a console path (adding a history entry, or replacing the current one) and draws it. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  onRoute();
}

/** A page of the console to go to after logging in; anything else (another site, another part of this one) goes to /console. */
export function safeReturnTo(raw: string | null): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return '/console';
  const url = new URL(raw, location.origin);
  if (url.origin !== location.origin || !(url.pathname === '/console' || url.pathname.startsWith('/console/')) || url.pathname === '/console/login') return '/console';
  return url.pathname + url.search;
}

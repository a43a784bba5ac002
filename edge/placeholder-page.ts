/** The page served at `/` until the page bundle is built into edge/assets: it keeps the `?key=` it was opened with. */
export function placeholderPage(origin: string, key: string | undefined, demoKey: string | null): string {
  const value = key ?? demoKey ?? '';
  const link = value ? `/?key=${encodeURIComponent(value)}` : '/';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>NetPoke</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>NetPoke</h1>
<p>The measurement page is not built yet: run <code>npm run build:page</code> (or <code>npm start</code>), then reload.</p>
<form method="get" action="/"><label>Magic key <input name="key" value="${escapeHtml(value)}" size="48" autocomplete="off"></label> <button>Open</button></form>
<p>Headless: <code>npm run probe -- --url ${escapeHtml(origin)} --key ${escapeHtml(value || '<key>')} --duration 30s</code></p>
<p><a href="${escapeHtml(link)}">Reload with this key</a></p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * The live preview page served at `/` by {@link createPreviewServer} (lib/stream/serve.ts): the annotated MJPEG
 * stream, the latest frame's detections and the live stats, fed by the server-sent events of `/events`. Kept as a
 * TypeScript module (not an .html file) so that tsc emits it into dist/ with the rest: no copy step in the build.
 * The page uses no external resource and sets text with `textContent` only (labels are never parsed as HTML).
 */

/** The page's HTML; `title` is escaped. */
export function previewPage(title: string): string {
  const safe = title.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safe}</title>
<style>
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: #1d1f21; color: #e0e0e0; }
  header { padding: 8px 12px; background: #111; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 16px; margin: 0; }
  #state { color: #9c9; } #state.down { color: #e66; }
  main { display: flex; flex-wrap: wrap; gap: 12px; padding: 12px; }
  #video { max-width: 100%; background: #000; min-width: 320px; min-height: 240px; }
  aside { min-width: 260px; flex: 1; }
  table { border-collapse: collapse; width: 100%; }
  td, th { padding: 2px 6px; text-align: left; border-bottom: 1px solid #333; font-variant-numeric: tabular-nums; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0 0 12px; }
  dt { color: #999; } dd { margin: 0; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<header><h1>${safe}</h1><span id="state">connecting…</span>
  <span>frame <b id="frame">–</b></span><span>detections <b id="count">–</b></span><span>events <b id="events">0</b></span></header>
<main>
  <img id="video" src="stream.mjpg" alt="annotated stream">
  <aside>
    <h2>Stats</h2><dl id="stats"></dl>
    <h2>Detections</h2>
    <table><thead><tr><th>track</th><th>label</th><th>score</th><th>box</th></tr></thead><tbody id="detections"></tbody></table>
  </aside>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  let events = 0;
  const source = new EventSource('events');
  source.onopen = () => { $('state').textContent = 'live'; $('state').className = ''; };
  source.onerror = () => { $('state').textContent = 'disconnected'; $('state').className = 'down'; };
  source.addEventListener('detections', (e) => {
    const msg = JSON.parse(e.data);
    $('events').textContent = String(++events);
    $('frame').textContent = String(msg.frame);
    $('count').textContent = String(msg.detections.length);
    const rows = msg.detections.map((d) => {
      const tr = document.createElement('tr');
      for (const v of [d.trackId ?? '', d.label, d.score.toFixed(3), d.box.map((x) => x.toFixed(1)).join(', ')]) {
        const td = document.createElement('td');
        td.textContent = String(v);
        tr.appendChild(td);
      }
      return tr;
    });
    $('detections').replaceChildren(...rows);
  });
  source.addEventListener('stats', (e) => {
    const stats = JSON.parse(e.data);
    $('events').textContent = String(++events);
    const items = [];
    const add = (k, v) => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k2, v2] of Object.entries(v)) add(k + '.' + k2, v2);
        return;
      }
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = typeof v === 'number' ? String(Math.round(v * 100) / 100) : JSON.stringify(v);
      items.push(dt, dd);
    };
    for (const [k, v] of Object.entries(stats)) add(k, v);
    $('stats').replaceChildren(...items);
  });
  source.addEventListener('end', () => { source.close(); $('state').textContent = 'ended'; $('state').className = 'down'; });
})();
</script>
</body>
</html>
`;
}

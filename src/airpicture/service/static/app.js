// airpicture web map: MapLibre GL JS (served locally, no request leaves the machine),
// updated from /ws/tracks once a second with one GeoJSON setData per layer per tick.
import * as maplibregl from './vendor/maplibre-gl/maplibre-gl.mjs';

const KIND_BITS = { psr: 1, ssr: 2, adsb: 4, mlat: 8 };
const COLORS = { psr: '#ff6b4a', ssr: '#ffd23f', adsb: '#4ade80', mlat: '#c084fc', multi: '#38bdf8' };
const LIST_ROWS = 400;
const COASTING = 2; // track status: 0 tentative, 1 confirmed, 2 coasting (no plot for a while)
const isCoasting = ['==', ['get', 'status'], COASTING];
const url = (path) => new URL(path, window.location.href).href;

// State shared with the tests and the benchmark (window.__ap).
const ap = {
  ready: false, seq: 0, idleSeq: 0, lastIdleMs: 0, messages: 0, lastApplyMs: 0, tracks: new Map(), trails: new Map(),
  sensors: [], selected: null, trailPoints: 20, mode: 'live', historyTracks: null, historyShownT: null, t: null,
};
window.__ap = ap;

function colorOf(kinds) {
  const names = Object.keys(KIND_BITS).filter((k) => kinds & KIND_BITS[k]);
  return names.length === 1 ? COLORS[names[0]] : names.length > 1 ? COLORS.multi : '#9ca3af';
}

function label(p) {
  const name = p.callsign || p.icao24 || `#${p.id}`;
  const fl = p.alt_ft == null ? '' : `\nFL${String(Math.round(p.alt_ft / 100)).padStart(3, '0')}`;
  return name + fl;
}

// ---- filters --------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);
const filterInputs = ['f-callsign', 'f-icao24', 'f-squawk', 'f-alt-min', 'f-alt-max', 'f-sensor'];

function currentFilter() {
  const num = (id) => ($(id).value === '' ? null : Number($(id).value));
  return {
    callsign: $('f-callsign').value.trim().toUpperCase(),
    icao24: $('f-icao24').value.trim().toLowerCase(),
    squawk: $('f-squawk').value.trim(),
    altMin: num('f-alt-min'), altMax: num('f-alt-max'),
    sensorBit: $('f-sensor').value === '' ? null : Number($('f-sensor').value),
  };
}

function passes(p, f) {
  if (f.callsign && !(p.callsign || '').toUpperCase().includes(f.callsign)) return false;
  if (f.icao24 && !(p.icao24 || '').startsWith(f.icao24)) return false;
  if (f.squawk && p.squawk !== f.squawk) return false;
  if (f.altMin != null && !(p.alt_ft != null && p.alt_ft >= f.altMin)) return false;
  if (f.altMax != null && !(p.alt_ft != null && p.alt_ft <= f.altMax)) return false;
  if (f.sensorBit != null && !(Math.floor(p.smask / 2 ** f.sensorBit) % 2)) return false;
  return true;
}

// ---- the map --------------------------------------------------------------------------
const empty = { type: 'FeatureCollection', features: [] };
const style = {
  version: 8,
  sources: {
    countries: { type: 'geojson', data: url('static/countries-110m.geojson') },
    coverage: { type: 'geojson', data: empty },
    sensors: { type: 'geojson', data: empty },
    trails: { type: 'geojson', data: empty },
    tracks: { type: 'geojson', data: empty },
  },
  layers: [
    { id: 'background', type: 'background', paint: { 'background-color': '#0d1b2a' } },
    { id: 'countries', type: 'fill', source: 'countries', paint: { 'fill-color': '#1b2b40' } },
    { id: 'borders', type: 'line', source: 'countries', paint: { 'line-color': '#3b5578', 'line-width': 0.8 } },
    { id: 'coverage', type: 'line', source: 'coverage', paint: { 'line-color': '#56708f', 'line-width': 1, 'line-dasharray': [3, 3] } },
    { id: 'sensors', type: 'circle', source: 'sensors', paint: { 'circle-radius': 5, 'circle-color': ['get', 'color'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } },
    { id: 'trails', type: 'line', source: 'trails', filter: ['!', isCoasting], paint: { 'line-color': ['get', 'color'], 'line-width': 1.2, 'line-opacity': 0.6 } },
    // Coasting tracks: dashed, greyed trail (line-dasharray cannot vary per feature: own layer).
    { id: 'trails-coasting', type: 'line', source: 'trails', filter: isCoasting, paint: { 'line-color': ['get', 'color'], 'line-width': 1.2, 'line-opacity': 0.45, 'line-dasharray': [2, 2] } },
    {
      id: 'tracks', type: 'symbol', source: 'tracks',
      layout: {
        'icon-image': ['case', isCoasting, 'arrow-hollow', 'arrow'], 'icon-rotate': ['get', 'hdg_deg'], 'icon-rotation-alignment': 'map',
        'icon-allow-overlap': true, 'icon-ignore-placement': true, 'icon-size': 0.9,
        'text-field': ['get', 'label'], 'text-size': 11, 'text-offset': [1.2, 0], 'text-anchor': 'left',
        'text-justify': 'left', 'text-optional': true,
      },
      paint: {
        'icon-color': ['get', 'color'], 'icon-opacity': ['case', isCoasting, 0.6, 1],
        'text-color': ['case', isCoasting, '#8a9bb0', '#dbe7f5'], 'text-halo-color': '#0d1b2a', 'text-halo-width': 1,
      },
    },
  ],
};

function arrowImage(size = 24, hollow = false) {
  const c = document.createElement('canvas');
  c.width = size; c.height = size;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.strokeStyle = '#fff'; g.lineWidth = 2; g.lineJoin = 'round';
  g.beginPath();
  g.moveTo(size / 2, 2); g.lineTo(size - 5, size - 4); g.lineTo(size / 2, size * 0.7); g.lineTo(5, size - 4);
  g.closePath();
  if (hollow) g.stroke(); else g.fill();
  return g.getImageData(0, 0, size, size);
}

const map = new maplibregl.Map({ container: 'map', style, center: [2.35, 48.85], zoom: 6, attributionControl: false, fadeDuration: 0 });
ap.map = map;
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');

function circle(lon, lat, radiusM, n = 64) {
  const coords = [];
  for (let i = 0; i <= n; i++) {
    const a = (2 * Math.PI * i) / n;
    const dLat = (radiusM * Math.cos(a)) / 111320;
    const dLon = (radiusM * Math.sin(a)) / (111320 * Math.cos((lat * Math.PI) / 180));
    coords.push([lon + dLon, lat + dLat]);
  }
  return coords;
}

function drawSensors() {
  const placed = ap.sensors.filter((s) => s.lat != null);
  map.getSource('sensors').setData({
    type: 'FeatureCollection',
    features: placed.map((s) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { id: s.id, name: s.name, color: COLORS[s.kind] } })),
  });
  map.getSource('coverage').setData({
    type: 'FeatureCollection',
    features: placed.filter((s) => s.max_range_m).map((s) => ({ type: 'Feature', geometry: { type: 'LineString', coordinates: circle(s.lon, s.lat, s.max_range_m) }, properties: {} })),
  });
}

function fillSensorControls() {
  const sel = $('f-sensor');
  for (const s of ap.sensors) {
    const o = document.createElement('option');
    o.value = String(s.bit); o.textContent = `${s.name} (${s.kind})`;
    sel.appendChild(o);
  }
  const kinds = [...new Set(ap.sensors.map((s) => s.kind))];
  $('legend').innerHTML = kinds.map((k) => `<span><i style="background:${COLORS[k]}"></i>${k} only</span>`).join('')
    + `<span><i style="background:${COLORS.multi}"></i>several kinds</span>`
    + '<span id="legend-coasting"><i class="hollow"></i>coasting (no recent plot, dashed trail)</span>';
}

// ---- rendering ------------------------------------------------------------------------
function visibleTracks() {
  const source = ap.mode === 'live' ? ap.tracks : ap.historyTracks || new Map();
  const f = currentFilter();
  const out = [];
  for (const p of source.values()) if (passes(p, f)) out.push(p);
  return out;
}

function render() {
  const shown = visibleTracks();
  const features = new Array(shown.length);
  const trails = [];
  for (let i = 0; i < shown.length; i++) {
    const p = shown[i];
    const color = colorOf(p.kinds);
    features[i] = {
      type: 'Feature', id: p.id, geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
      properties: { id: p.id, hdg_deg: p.hdg_deg, color, label: label(p), callsign: p.callsign, icao24: p.icao24, status: p.status },
    };
    const tr = ap.mode === 'live' ? ap.trails.get(p.id) : null;
    if (tr && tr.length > 1) trails.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: tr }, properties: { id: p.id, color, status: p.status } });
  }
  map.getSource('tracks').setData({ type: 'FeatureCollection', features });
  map.getSource('trails').setData({ type: 'FeatureCollection', features: trails });
  renderList(shown);
  ap.shown = shown.length;
}

function renderList(shown) {
  const rows = shown.slice().sort((a, b) => (a.callsign || a.icao24 || '').localeCompare(b.callsign || b.icao24 || '')).slice(0, LIST_ROWS);
  $('list').tBodies[0].innerHTML = rows.map((p) => `<tr data-id="${p.id}" class="${p.id === ap.selected ? 'sel' : ''}${p.status === COASTING ? ' coasting' : ''}"><td>${esc(p.callsign)}</td><td>${p.icao24}</td><td>${p.alt_ft == null ? '' : Math.round(p.alt_ft / 100)}</td><td>${p.gs_kt}</td><td>${p.squawk}</td></tr>`).join('');
}

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---- live updates ---------------------------------------------------------------------
function addTrail(p) {
  let tr = ap.trails.get(p.id);
  if (!tr) { tr = []; ap.trails.set(p.id, tr); }
  const last = tr[tr.length - 1];
  if (!last || last[0] !== p.lon || last[1] !== p.lat) tr.push([p.lon, p.lat]);
  if (tr.length > ap.trailPoints) tr.shift();
}

function applyMessage(msg) {
  const cols = msg.cols;
  const names = Object.keys(cols);
  if (msg.type === 'snapshot') {
    const keep = new Set(cols.id);
    for (const id of ap.tracks.keys()) if (!keep.has(id)) { ap.tracks.delete(id); ap.trails.delete(id); }
  }
  for (const id of msg.removed) { ap.tracks.delete(id); ap.trails.delete(id); }
  for (let i = 0; i < msg.n; i++) {
    const p = {};
    for (const k of names) p[k] = cols[k][i];
    ap.tracks.set(p.id, p);
    addTrail(p);
  }
  const upd = msg.upd;
  const updNames = Object.keys(upd);
  for (let i = 0; i < upd.id.length; i++) {
    const p = ap.tracks.get(upd.id[i]);
    if (!p) continue;
    for (const k of updNames) p[k] = upd[k][i];
    addTrail(p);
  }
  ap.seq = msg.seq; ap.t = msg.t;
}

function onMessage(ev) {
  const t0 = performance.now();
  const msg = JSON.parse(ev.data);
  if (msg.type === 'end') { // a replay reached the end of its recording (it stays so)
    ap.ended = true;
    $('status').textContent = `${ap.tracks.size} tracks · t=${msg.t.toFixed(0)} s · end of recording`;
    return;
  }
  applyMessage(msg);
  ap.messages += 1;
  if (ap.mode === 'live') {
    render();
    $('time-label').textContent = `live t=${msg.t.toFixed(0)} s`;
  }
  ap.lastApplyMs = performance.now() - t0;
  if (ap.mode === 'live') map.once('idle', () => { ap.idleSeq = msg.seq; ap.lastIdleMs = performance.now() - t0; });
  else ap.idleSeq = msg.seq; // looking back: nothing new to draw
  $('status').textContent = `${ap.tracks.size} tracks · t=${msg.t.toFixed(0)} s${ap.ended ? ' · end of recording' : ''}`;
  if (ap.selected != null && ap.mode === 'live' && msg.seq % 2 === 0) showPanel(ap.selected);
}

function connect() {
  const ws = new WebSocket(url('ws/tracks').replace(/^http/, 'ws'));
  ap.ended = false;
  ws.onmessage = onMessage;
  ws.onclose = () => { $('status').textContent = 'disconnected, retrying…'; setTimeout(connect, 2000); };
  ap.ws = ws;
}

// ---- track panel ----------------------------------------------------------------------
const STATUS = ['tentative', 'confirmed', 'coasting'];

async function showPanel(id) {
  ap.selected = id;
  const r = await fetch(url(`api/tracks/${id}`));
  if (!r.ok) { $('panel-body').innerHTML = `<p>track ${id} is no longer in the picture</p>`; return; }
  const d = await r.json();
  const t = d.track;
  const h = d.history;
  const recent = h.t.map((_, i) => i).slice(-10).reverse();
  $('panel-body').innerHTML = `
    <h3>${esc(t.callsign || t.icao24 || '#' + t.id)}</h3>
    <table>
      <tr><td>track</td><td>${t.id}</td></tr>
      <tr><td>address</td><td>${t.icao24 || '–'}</td></tr>
      <tr><td>squawk</td><td>${t.squawk || '–'}</td></tr>
      <tr><td>altitude</td><td>${t.alt_ft == null ? '–' : t.alt_ft + ' ft'}</td></tr>
      <tr><td>speed</td><td>${t.gs_kt} kt, heading ${Math.round(t.hdg_deg)}°</td></tr>
      <tr><td>vertical</td><td>${t.vrate_fpm == null ? '–' : t.vrate_fpm + ' ft/min'}</td></tr>
      <tr><td>position</td><td>${t.lat.toFixed(4)}, ${t.lon.toFixed(4)}</td></tr>
      <tr><td>quality</td><td>${STATUS[t.status] || t.status}, σ ${t.sigma_pos_m == null ? '–' : t.sigma_pos_m + ' m'}</td></tr>
    </table>
    <h4>contributing sensors</h4>
    <ul id="panel-sensors">${d.sensors.map((s) => `<li class="sensor" data-kind="${s.kind}">${esc(s.name)} (${s.kind})</li>`).join('')}</ul>
    <h4>recent history</h4>
    <table id="panel-history"><tr><td>t s</td><td>FL</td><td>lat</td><td>lon</td></tr>
    ${recent.map((i) => `<tr><td>${h.t[i].toFixed(0)}</td><td>${h.alt_ft[i] == null ? '' : Math.round(h.alt_ft[i] / 100)}</td><td>${h.lat[i].toFixed(4)}</td><td>${h.lon[i].toFixed(4)}</td></tr>`).join('')}</table>`;
  $('panel').hidden = false;
}

$('panel-close').onclick = () => { $('panel').hidden = true; ap.selected = null; };
$('list').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-id]');
  if (tr) showPanel(Number(tr.dataset.id));
});
for (const id of filterInputs) $(id).addEventListener('input', render);

// ---- time slider (history) ------------------------------------------------------------
async function refreshRange() {
  const r = await (await fetch(url('api/history/range'))).json();
  if (r.t0 == null) return;
  const slider = $('time');
  const atEnd = ap.mode === 'live';
  slider.min = String(Math.floor(r.t0)); slider.max = String(Math.ceil(r.t1));
  if (atEnd) slider.value = slider.max;
}

function hexOr(v, width, base) {
  return v == null || v <= 0 ? '' : Number(v).toString(base).padStart(width, '0');
}

async function showHistory(tS) {
  const r = await (await fetch(url(`api/history?t0=${tS - 2}&t1=${tS}`))).json();
  const c = r.cols;
  const out = new Map();
  for (let i = 0; i < r.count; i++) {
    const kinds = ap.sensors.reduce((acc, s) => (Math.floor(c.sensor_mask[i] / 2 ** s.bit) % 2 ? acc | KIND_BITS[s.kind] : acc), 0);
    out.set(c.track_id[i], {
      id: c.track_id[i], lat: c.lat[i], lon: c.lon[i], alt_ft: c.alt_ft[i], callsign: (c.callsign[i] || '').trim(),
      icao24: hexOr(c.icao24[i], 6, 16), squawk: c.squawk[i] >= 0 ? hexOr(c.squawk[i], 4, 8) || '0000' : '',
      hdg_deg: ((Math.atan2(c.vx[i], c.vy[i]) * 180) / Math.PI + 360) % 360,
      gs_kt: Math.round((Math.hypot(c.vx[i], c.vy[i]) * 3600) / 1852), smask: c.sensor_mask[i], kinds, status: c.status[i],
    });
  }
  ap.historyTracks = out;
  ap.mode = 'history';
  $('time-label').textContent = `t=${tS} s (${out.size})`;
  render();
  map.once('idle', () => { ap.historyShownT = tS; });
}

$('time').addEventListener('change', (e) => showHistory(Number(e.target.value)));
$('live').onclick = () => { ap.mode = 'live'; ap.historyTracks = null; render(); refreshRange(); };

// ---- start ----------------------------------------------------------------------------
map.on('load', async () => {
  map.addImage('arrow', arrowImage(), { sdf: true });
  map.addImage('arrow-hollow', arrowImage(24, true), { sdf: true });
  const [health, sensors] = await Promise.all([
    fetch(url('api/health')).then((r) => r.json()), fetch(url('api/sensors')).then((r) => r.json())]);
  map.jumpTo({ center: [health.origin.lon, health.origin.lat] });
  ap.trailPoints = health.trail_points;
  ap.sensors = sensors.sensors;
  drawSensors();
  fillSensorControls();
  map.on('click', 'tracks', (e) => showPanel(e.features[0].properties.id));
  map.on('mouseenter', 'tracks', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'tracks', () => { map.getCanvas().style.cursor = ''; });
  connect();
  refreshRange();
  setInterval(refreshRange, 5000);
  ap.ready = true;
});

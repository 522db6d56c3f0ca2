// airpicture web map: MapLibre GL JS (served locally, no request leaves the machine),
// updated from /ws/tracks once a second with one GeoJSON setData per layer per tick.
import * as maplibregl from './vendor/maplibre-gl/maplibre-gl.mjs';

const KIND_BITS = { psr: 1, ssr: 2, adsb: 4, mlat: 8 };
const COLORS = { psr: '#ff6b4a', ssr: '#ffd23f', adsb: '#4ade80', mlat: '#c084fc', multi: '#38bdf8' };
const LIST_ROWS = 400;
const TENTATIVE = 0; const COASTING = 2; // track status: 0 tentative, 1 confirmed, 2 coasting
const isCoasting = ['==', ['get', 'status'], COASTING];
const isTentative = ['==', ['get', 'status'], TENTATIVE];
const LABEL_PX = 11; const LABEL_OFFSET_EM = 1.5; const ICON_PX = 22;
const ANCHORS = ['left', 'right', 'bottom', 'top', 'bottom-left', 'top-left', 'bottom-right', 'top-right'];
const COLOR_BY_KEY = 'airpicture.colorBy'; // localStorage: 'kinds' (default) or 'altitude'
// Altitude colour ramp after tar1090's habit: hue by altitude (ft), orange low -> green -> blue
// -> magenta high; grey when unknown. Piecewise linear between the stops.
const ALT_HUE_STOPS = [[0, 20], [2000, 32.5], [4000, 43], [6000, 54], [8000, 72], [9000, 85],
  [11000, 140], [40000, 300], [51000, 360]];
const url = (path) => new URL(path, window.location.href).href;

// State shared with the tests and the benchmark (window.__ap).
const ap = {
  ready: false, seq: 0, idleSeq: 0, lastIdleMs: 0, messages: 0, lastApplyMs: 0, tracks: new Map(), trails: new Map(),
  sensors: [], selected: null, trailPoints: 20, mode: 'live', historyTracks: null, historyShownT: null, t: null,
  epochOffsetS: 0, fitted: false, labelsShown: null, colorBy: localStorage.getItem(COLOR_BY_KEY) === 'altitude' ? 'altitude' : 'kinds',
};
window.__ap = ap;
ap.altitudeColor = (a) => altitudeColor(a); // for the tests
ap.render = () => render();

function colorOf(kinds) {
  const names = Object.keys(KIND_BITS).filter((k) => kinds & KIND_BITS[k]);
  return names.length === 1 ? COLORS[names[0]] : names.length > 1 ? COLORS.multi : '#9ca3af';
}

function altitudeColor(altFt) {
  if (altFt == null) return '#9ca3af';
  const a = Math.max(0, altFt);
  let h = ALT_HUE_STOPS[ALT_HUE_STOPS.length - 1][1];
  for (let i = 1; i < ALT_HUE_STOPS.length; i++) {
    const [a0, h0] = ALT_HUE_STOPS[i - 1]; const [a1, h1] = ALT_HUE_STOPS[i];
    if (a <= a1) { h = h0 + ((h1 - h0) * (a - a0)) / (a1 - a0); break; }
  }
  const lightness = h > 200 && h < 290 ? 64 : 52; // blues lighter, readable on the dark map
  return `hsl(${Math.round(h % 360)}, 88%, ${lightness}%)`;
}

function trackColor(p) {
  return ap.colorBy === 'altitude' ? altitudeColor(p.alt_ft) : colorOf(p.kinds);
}

// Stream seconds as a UTC wall clock (HH:MM:SS UTC). epochOffsetS maps stream time onto UTC:
// 0 when `t` already is epoch seconds (live feeds), else chosen at load (see start).
function utcClock(tS) {
  if (tS == null || !Number.isFinite(Number(tS))) return '–';
  return `${new Date((Number(tS) + ap.epochOffsetS) * 1000).toISOString().slice(11, 19)} UTC`;
}
ap.utcClock = utcClock;

function label(p) {
  const name = p.callsign || p.icao24 || `#${p.id}`;
  const fl = p.alt_ft == null ? '' : `\nFL${String(Math.max(0, Math.round(p.alt_ft / 100))).padStart(3, '0')}`;
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
    places: { type: 'geojson', data: url('static/places.geojson') },
    coverage: { type: 'geojson', data: empty },
    sensors: { type: 'geojson', data: empty },
    trails: { type: 'geojson', data: empty },
    tracks: { type: 'geojson', data: empty },
  },
  layers: [
    { id: 'background', type: 'background', paint: { 'background-color': '#0d1b2a' } },
    { id: 'countries', type: 'fill', source: 'countries', paint: { 'fill-color': '#1b2b40' } },
    { id: 'borders', type: 'line', source: 'countries', paint: { 'line-color': '#3b5578', 'line-width': 0.8 } },
    // Context offline: large airports and major cities (service/static/places.geojson).
    { id: 'places', type: 'circle', source: 'places', paint: {
      'circle-radius': ['case', ['==', ['get', 'kind'], 'airport'], 2.5, 2], 'circle-color': ['case', ['==', ['get', 'kind'], 'airport'], '#7c8fa8', '#5b6f88'],
      'circle-stroke-color': '#0d1b2a', 'circle-stroke-width': 0.5 } },
    { id: 'place-labels', type: 'symbol', source: 'places', minzoom: 4, layout: {
      'text-field': ['get', 'name'], 'text-size': 10, 'text-anchor': 'top', 'text-offset': [0, 0.4], 'text-optional': true },
      paint: { 'text-color': '#7c8fa8', 'text-halo-color': '#0d1b2a', 'text-halo-width': 1 } },
    { id: 'coverage', type: 'line', source: 'coverage', paint: { 'line-color': '#56708f', 'line-width': 1, 'line-dasharray': [3, 3] } },
    { id: 'sensors', type: 'circle', source: 'sensors', paint: { 'circle-radius': 5, 'circle-color': ['get', 'color'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } },
    { id: 'trails', type: 'line', source: 'trails', filter: ['!', isCoasting], paint: { 'line-color': ['get', 'color'], 'line-width': 1.2, 'line-opacity': 0.6 } },
    // Coasting tracks: dashed, greyed trail (line-dasharray cannot vary per feature: own layer).
    { id: 'trails-coasting', type: 'line', source: 'trails', filter: isCoasting, paint: { 'line-color': ['get', 'color'], 'line-width': 1.2, 'line-opacity': 0.45, 'line-dasharray': [2, 2] } },
    // Symbology (docs/service.md): shape = track state (filled arrow confirmed, hollow arrow
    // coasting, small open chevron tentative); colour = sensor kinds or altitude (toggle); the
    // icon halo is kept free for later alert states (integrity, release). Icons always draw.
    {
      id: 'tracks', type: 'symbol', source: 'tracks',
      layout: {
        'icon-image': ['case', isCoasting, 'arrow-hollow', isTentative, 'chevron', 'arrow'], 'icon-rotate': ['get', 'hdg_deg'], 'icon-rotation-alignment': 'map',
        'icon-allow-overlap': true, 'icon-ignore-placement': true, 'icon-size': ['case', isTentative, 0.7, 0.9],
      },
      paint: { 'icon-color': ['get', 'color'], 'icon-opacity': ['case', isCoasting, 0.6, isTentative, 0.75, 1] },
    },
    // Labels in their own layer, decluttered by declutter() (each label takes the first of 8
    // positions around its symbol that is free of other labels and symbols; the selected track,
    // then confirmed ones, choose first). MapLibre's collision check stays as a backstop; a label
    // that still does not fit is counted in the header, never silent.
    {
      id: 'labels', type: 'symbol', source: 'tracks',
      layout: {
        'text-field': ['get', 'label'], 'text-size': LABEL_PX, 'text-justify': 'auto', 'text-anchor': ['get', 'anchor'],
        'text-radial-offset': LABEL_OFFSET_EM, 'text-allow-overlap': false, 'text-padding': 1, 'symbol-sort-key': ['get', 'rank'],
      },
      paint: { 'text-color': ['case', ['any', isCoasting, isTentative], '#8a9bb0', '#dbe7f5'], 'text-halo-color': '#0d1b2a', 'text-halo-width': 1 },
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

function chevronImage(size = 24) { // tentative: an open chevron, no body
  const c = document.createElement('canvas');
  c.width = size; c.height = size;
  const g = c.getContext('2d');
  g.strokeStyle = '#fff'; g.lineWidth = 2.5; g.lineJoin = 'round'; g.lineCap = 'round';
  g.beginPath(); g.moveTo(5, size - 5); g.lineTo(size / 2, 3); g.lineTo(size - 5, size - 5); g.stroke();
  return g.getImageData(0, 0, size, size);
}

const map = new maplibregl.Map({ container: 'map', style, center: [2.35, 48.85], zoom: 6, attributionControl: false, fadeDuration: 0 });
ap.map = map;
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'nautical', maxWidth: 120 }), 'bottom-left');

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
  drawLegend();
}

function drawLegend() {
  const kinds = [...new Set(ap.sensors.map((s) => s.kind))];
  const colours = ap.colorBy === 'altitude'
    ? [null, 0, 4000, 8000, 11000, 20000, 30000, 40000].map((a) => `<span class="alt"><i style="background:${altitudeColor(a)}"></i>${a == null ? '?' : a === 0 ? 'gnd' : `FL${a / 100}`}</span>`).join('')
    : kinds.map((k) => `<span><i style="background:${COLORS[k]}"></i>${k} only</span>`).join('')
      + `<span><i style="background:${COLORS.multi}"></i>several kinds</span>`;
  $('legend-colors').innerHTML = colours
    + '<span id="legend-tentative"><i class="chevron"></i>tentative</span>'
    + '<span id="legend-coasting"><i class="hollow"></i>coasting (no recent plot, dashed trail)</span>';
}

function setColorBy(value) {
  ap.colorBy = value === 'altitude' ? 'altitude' : 'kinds';
  localStorage.setItem(COLOR_BY_KEY, ap.colorBy);
  $('color-by').value = ap.colorBy;
  drawLegend();
  render();
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
    const color = trackColor(p);
    // Label placement order: the selected track first, then confirmed, coasting, tentative.
    const rank = p.id === ap.selected ? 0 : p.status === TENTATIVE ? 3 : p.status === COASTING ? 2 : 1;
    features[i] = {
      type: 'Feature', id: p.id, geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
      properties: { id: p.id, hdg_deg: p.hdg_deg, color, label: label(p), callsign: p.callsign, icao24: p.icao24, status: p.status, rank },
    };
    const tr = ap.mode === 'live' ? ap.trails.get(p.id) : null;
    if (tr && tr.length > 1) trails.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: tr }, properties: { id: p.id, color, status: p.status } });
  }
  declutter(features);
  map.getSource('tracks').setData({ type: 'FeatureCollection', features });
  map.getSource('trails').setData({ type: 'FeatureCollection', features: trails });
  renderList(shown);
  ap.shown = shown.length;
  map.once('idle', countLabels);
}

// Label positions in screen space, greedy by rank: each label takes the first anchor whose box
// (estimated from its text) overlaps no placed label and no track symbol on screen. Boxes sit
// in a 64 px grid, so a check looks at a few neighbours. Above DECLUTTER_MAX tracks on screen
// MapLibre's own collision check alone decides (anchor 'left').
const DECLUTTER_MAX = 800; const CELL_PX = 64;
function declutter(features) {
  const w = map.getContainer().clientWidth; const h = map.getContainer().clientHeight;
  const pts = features.map((f) => map.project(f.geometry.coordinates));
  const visible = [];
  for (let i = 0; i < features.length; i++) {
    features[i].properties.anchor = 'left';
    const q = pts[i];
    if (q.x > -60 && q.y > -60 && q.x < w + 60 && q.y < h + 60) visible.push(i);
  }
  if (visible.length > DECLUTTER_MAX) return;
  const grid = new Map();
  const cells = (b, fn) => {
    for (let cx = Math.floor(b[0] / CELL_PX); cx <= Math.floor(b[2] / CELL_PX); cx++)
      for (let cy = Math.floor(b[1] / CELL_PX); cy <= Math.floor(b[3] / CELL_PX); cy++) if (fn(`${cx},${cy}`)) return true;
    return false;
  };
  const add = (b, owner) => cells(b, (k) => { if (!grid.has(k)) grid.set(k, []); grid.get(k).push([b, owner]); return false; });
  const hit = (b, self) => cells(b, (k) => (grid.get(k) || []).some(([o, owner]) => owner !== self
    && b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]));
  for (const i of visible) add([pts[i].x - ICON_PX / 2, pts[i].y - ICON_PX / 2, pts[i].x + ICON_PX / 2, pts[i].y + ICON_PX / 2], i);
  visible.sort((a, b) => features[a].properties.rank - features[b].properties.rank);
  const r = LABEL_OFFSET_EM * LABEL_PX;
  for (const i of visible) {
    const lines = features[i].properties.label.split('\n');
    const lw = Math.max(...lines.map((l) => l.length)) * LABEL_PX * 0.62; const lh = lines.length * LABEL_PX * 1.2;
    const q = pts[i];
    for (const a of ANCHORS) {
      const d = a.includes('-') ? r / Math.SQRT2 : r;
      const x0 = a.includes('left') ? q.x + d : a.includes('right') ? q.x - d - lw : q.x - lw / 2;
      const y0 = a.startsWith('top') ? q.y + d : a.startsWith('bottom') ? q.y - d - lh : q.y - lh / 2;
      const box = [x0, y0, x0 + lw, y0 + lh];
      if (!hit(box, i)) { features[i].properties.anchor = a; add(box, -1 - i); break; }
    }
  }
  ap.declutterN = visible.length;
}

// Labels that found no room are reported in the header (zoom in to see them), never silent.
function countLabels() {
  const placed = new Set(map.queryRenderedFeatures({ layers: ['labels'] }).map((f) => f.properties.id));
  const onScreen = map.queryRenderedFeatures({ layers: ['tracks'] }).length;
  ap.labelsShown = placed.size;
  const hidden = Math.max(0, onScreen - placed.size);
  $('labels-hidden').textContent = hidden ? `${hidden} label${hidden > 1 ? 's' : ''} hidden: zoom in` : '';
}

// The first view fits the traffic (bounds of the first picture's tracks, padded).
function fitTraffic(tracks) {
  if (ap.fitted || tracks.size === 0) return;
  const b = new maplibregl.LngLatBounds();
  for (const p of tracks.values()) b.extend([p.lon, p.lat]);
  map.fitBounds(b, { padding: 60, maxZoom: 10, duration: 0 });
  ap.fitted = true;
  ap.firstView = { zoom: map.getZoom(), bounds: map.getBounds().toArray() };
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
    $('status').textContent = `${ap.tracks.size} tracks · ${utcClock(msg.t)} · end of recording`;
    return;
  }
  applyMessage(msg);
  ap.messages += 1;
  if (ap.mode === 'live') {
    fitTraffic(ap.tracks);
    render();
    $('time-label').textContent = `live ${utcClock(msg.t)}`;
    $('status').textContent = `${ap.tracks.size} tracks · ${utcClock(msg.t)}${ap.ended ? ' · end of recording' : ''}`;
  }
  ap.lastApplyMs = performance.now() - t0;
  if (ap.mode === 'live') map.once('idle', () => { ap.idleSeq = msg.seq; ap.lastIdleMs = performance.now() - t0; });
  else ap.idleSeq = msg.seq; // looking back: nothing new to draw
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
      <tr><td>time</td><td id="panel-time">${utcClock(ap.mode === 'live' ? ap.t : ap.historyShownT)}</td></tr>
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
    <table id="panel-history"><tr><td>time (UTC)</td><td>FL</td><td>lat</td><td>lon</td></tr>
    ${recent.map((i) => `<tr><td>${utcClock(h.t[i]).slice(0, 8)}</td><td>${h.alt_ft[i] == null ? '' : Math.round(h.alt_ft[i] / 100)}</td><td>${h.lat[i].toFixed(4)}</td><td>${h.lon[i].toFixed(4)}</td></tr>`).join('')}</table>`;
  $('panel').hidden = false;
}

$('panel-close').onclick = () => { $('panel').hidden = true; ap.selected = null; render(); };
$('list').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-id]');
  if (tr) { showPanel(Number(tr.dataset.id)); render(); }
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
  slider.title = `${utcClock(r.t0)} – ${utcClock(r.t1)}`;
}

async function showHistory(tS) {
  const r = await (await fetch(url(`api/history?t0=${tS - 2}&t1=${tS}`))).json();
  const c = r.cols; // /api/tracks' units and formats (hex address, octal squawk, kt, deg)
  const out = new Map();
  for (let i = 0; i < r.count; i++) {
    const kinds = ap.sensors.reduce((acc, s) => (Math.floor(c.smask[i] / 2 ** s.bit) % 2 ? acc | KIND_BITS[s.kind] : acc), 0);
    out.set(c.track_id[i], {
      id: c.track_id[i], lat: c.lat[i], lon: c.lon[i], alt_ft: c.alt_ft[i], callsign: c.callsign[i],
      icao24: c.icao24[i], squawk: c.squawk[i], hdg_deg: c.hdg_deg[i], gs_kt: c.gs_kt[i], smask: c.smask[i], kinds, status: c.status[i],
    });
  }
  ap.historyTracks = out;
  ap.mode = 'history';
  $('time-label').textContent = `history ${utcClock(tS)}`;
  $('status').textContent = `${out.size} tracks · ${utcClock(tS)} (history)`;
  render();
  map.once('idle', () => { ap.historyShownT = tS; });
}

$('time').addEventListener('change', (e) => showHistory(Number(e.target.value)));
$('time').addEventListener('input', (e) => { $('time-label').textContent = `history ${utcClock(Number(e.target.value))}`; });
$('color-by').value = ap.colorBy;
$('color-by').addEventListener('change', (e) => setColorBy(e.target.value));
$('live').onclick = () => { ap.mode = 'live'; ap.historyTracks = null; render(); refreshRange(); };

// ---- start ----------------------------------------------------------------------------
map.on('load', async () => {
  map.addImage('arrow', arrowImage(), { sdf: true });
  map.addImage('arrow-hollow', arrowImage(24, true), { sdf: true });
  map.addImage('chevron', chevronImage(), { sdf: true });
  const [health, sensors] = await Promise.all([
    fetch(url('api/health')).then((r) => r.json()), fetch(url('api/sensors')).then((r) => r.json())]);
  map.jumpTo({ center: [health.origin.lon, health.origin.lat] });
  // Stream time -> UTC: the service's own offset when it gives one; none needed when `t` is
  // already epoch seconds; else (a scenario's seconds from 0) the page's load is `t` now.
  ap.epochOffsetS = health.epoch_offset_s ?? (health.t > 1e9 ? 0 : Date.now() / 1000 - (health.t || 0));
  ap.trailPoints = health.trail_points;
  ap.sensors = sensors.sensors;
  drawSensors();
  fillSensorControls();
  map.on('moveend', () => render()); // label positions are chosen in screen space
  map.on('click', 'tracks', (e) => { showPanel(e.features[0].properties.id); render(); });
  map.on('mouseenter', 'tracks', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'tracks', () => { map.getCanvas().style.cursor = ''; });
  connect();
  refreshRange();
  setInterval(refreshRange, 5000);
  ap.ready = true;
});

// The dashboard page: a server-sent event stream drives the grid, totals, workers and charts.

const $ = (id) => document.getElementById(id);
const cells = new Map(); // turnstile id -> cell element
let selected = null;
let controllable = false; // workers can be killed and added (the demo launcher runs them as processes)
const COLORS = ['#e8a33d', '#5fa8e8', '#c46fd6', '#4fc1a6', '#e86a5f', '#a6c95b', '#d6b45f', '#7f8ce8'];
const workerColor = new Map();
const colorOf = (id) => {
  if (id === null || id === undefined) return '#2a323c';
  if (!workerColor.has(id)) workerColor.set(id, COLORS[workerColor.size % COLORS.length]);
  return workerColor.get(id);
};
const fmt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));

// --- grid ------------------------------------------------------------------------------------

function applyRows(rows, flash) {
  let added = false;
  for (const [id, state, version, coins, turns, pushes] of rows) {
    let cell = cells.get(id);
    if (cell === undefined) {
      cell = document.createElement('div');
      cell.className = 'cell';
      cell.dataset.id = id;
      cell.addEventListener('click', () => select(id));
      cells.set(id, cell);
      added = true;
    }
    const changed = cell.dataset.state !== state || cell.dataset.version !== String(version);
    cell.dataset.state = state;
    cell.dataset.version = String(version);
    cell.title = `${id}: ${state}, v${version}, coins ${coins}, turns ${turns}, pushes ${pushes}`;
    if (flash && changed) {
      cell.classList.add('flash');
      setTimeout(() => cell.classList.remove('flash'), 150);
    }
  }
  if (added) {
    const grid = $('grid');
    for (const id of [...cells.keys()].sort()) grid.appendChild(cells.get(id));
    $('grid-count').textContent = `(${cells.size})`;
  }
}

function select(id) {
  if (selected !== null) cells.get(selected)?.classList.remove('selected');
  selected = id;
  cells.get(id)?.classList.add('selected');
  $('turnstile-id').value = id;
  const cell = cells.get(id);
  $('command-result').textContent = cell ? `${id}: ${cell.dataset.state}, version ${cell.dataset.version}` : id;
}

// --- totals, workers ---------------------------------------------------------------------------

function applyTotals(t, lag, sim) {
  if (t) {
    $('t-turnstiles').textContent = fmt(t.turnstiles);
    $('t-coins').textContent = fmt(t.coins);
    $('t-turns').textContent = fmt(t.turns);
    $('t-pushes').textContent = fmt(t.pushes);
  }
  if (lag !== undefined) $('lag').textContent = lag === null ? '–' : `${fmt(lag)} events`;
  if (sim?.stats) {
    $('s-sent').textContent = fmt(sim.stats.sent);
    $('s-outcomes').textContent = `${fmt(sim.stats.ok)} / ${fmt(sim.stats.rejected)} / ${fmt(sim.stats.failed)}`;
  }
}

function applyAggregates(aggregates) {
  const box = $('aggregates');
  box.replaceChildren();
  for (const a of aggregates) {
    const dt = document.createElement('dt');
    dt.textContent = a.type;
    const dd = document.createElement('dd');
    dd.textContent = `${fmt(a.instances)} instances · ${fmt(a.events)} events`;
    dd.title = `${a.instances} ${a.type} instances (streams), ${a.events} events in the store`;
    box.append(dt, dd);
  }
}

function applyCluster(cluster) {
  if (!cluster) return;
  const box = $('workers');
  box.replaceChildren();
  for (const w of cluster.workers) {
    const row = document.createElement('div');
    row.className = `worker${w.up ? '' : ' down'}`;
    row.dataset.worker = w.id;
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.style.background = w.up ? colorOf(w.id) : '#555';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = w.id;
    const info = document.createElement('span');
    info.className = 'muted';
    info.textContent = w.up ? `pid ${w.pid ?? '?'} · ${w.owned.length} partitions` : `down${w.exit !== null ? ` (${w.exit})` : ''}`;
    row.append(dot, name, info);
    if (controllable && w.up) {
      const kill = document.createElement('button');
      kill.className = 'small kill';
      kill.textContent = 'Kill';
      kill.title = `SIGKILL ${w.id} (pid ${w.pid}); its partitions fail over after the member TTL`;
      kill.addEventListener('click', () => post(`/api/workers/${encodeURIComponent(w.id)}/kill`, kill));
      row.append(kill);
    }
    box.append(row);
  }
  const strip = $('partitions');
  strip.replaceChildren();
  for (const p of cluster.partitions) {
    const div = document.createElement('div');
    div.style.background = colorOf(p.owner);
    div.title = `partition ${p.partition}: ${p.owner ?? 'no owner'} (epoch ${p.epoch})`;
    div.textContent = String(p.partition);
    strip.append(div);
  }
}

async function post(url, button) {
  if (button) button.disabled = true;
  try {
    const res = await fetch(url, { method: 'POST' });
    return await res.json();
  } finally {
    if (button) button.disabled = false;
  }
}

// --- commands ----------------------------------------------------------------------------------

async function sendCommand(type, button) {
  const id = $('turnstile-id').value.trim();
  if (id === '') return;
  const out = $('command-result');
  out.textContent = `${type} → ${id}…`;
  button.disabled = true;
  try {
    const res = await fetch(`/api/turnstiles/${encodeURIComponent(id)}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type }),
    });
    const r = await res.json();
    if (r.status === 'ok') {
      if (r.row) applyRows([r.row], true);
      select(id);
      out.dataset.status = 'ok';
      out.textContent = `ok: ${r.events.join(', ')} → ${r.row ? r.row[1] : '?'} v${r.version} (reply ${r.replyMs} ms, read model ${r.projectedMs} ms)`;
    } else if (r.status === 'rejected') {
      out.textContent = `rejected: ${r.reason}`;
      out.dataset.status = 'rejected';
    } else {
      out.textContent = `error: ${r.code ?? ''} ${r.message ?? r.error ?? ''}`;
      out.dataset.status = 'error';
    }
  } catch (e) {
    out.textContent = `failed: ${e}`;
  } finally {
    button.disabled = false;
  }
}

for (const b of document.querySelectorAll('[data-command]')) b.addEventListener('click', () => sendCommand(b.dataset.command, b));
$('command-form').addEventListener('submit', (e) => e.preventDefault());
$('add-worker').addEventListener('click', (e) => post('/api/workers', e.currentTarget));

// --- charts ------------------------------------------------------------------------------------

function makeChart(el, series) {
  const width = () => Math.max(300, el.parentElement.clientWidth - 8);
  const chart = new uPlot(
    {
      width: width(),
      height: 180,
      series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 1.5, points: { show: false } }))],
      axes: [
        { stroke: '#7c8896', grid: { stroke: '#26303a' } },
        { stroke: '#7c8896', grid: { stroke: '#26303a' } },
      ],
      scales: { x: { time: true } },
    },
    [[], ...series.map(() => [])],
    el,
  );
  window.addEventListener('resize', () => chart.setSize({ width: width(), height: 180 }));
  return chart;
}
const rateChart = makeChart($('rate-chart'), [
  ['ok', '#2fb36b'],
  ['rejected', '#e8a33d'],
  ['failed', '#e0564f'],
  ['events projected', '#5fa8e8'],
]);
const latencyChart = makeChart($('latency-chart'), [
  ['p50', '#5fa8e8'],
  ['p99', '#e8a33d'],
]);

function applyCharts(sim, eventsPerSecond) {
  const seconds = sim?.seconds || [];
  const projected = new Map((eventsPerSecond || []).map(([at, n]) => [at / 1000, n]));
  // Every second of the last minute, so a stall (a failover) shows as a gap, not a straight line.
  const last = Math.max(0, ...seconds.map((s) => s.at / 1000), ...projected.keys());
  const xs = last === 0 ? [] : Array.from({ length: 60 }, (_, i) => last - 59 + i);
  const bySec = new Map(seconds.map((s) => [s.at / 1000, s]));
  const pick = (f) => xs.map((x) => (bySec.has(x) ? f(bySec.get(x)) : null));
  rateChart.setData([xs, pick((s) => s.ok), pick((s) => s.rejected), pick((s) => s.failed), xs.map((x) => projected.get(x) ?? null)]);
  latencyChart.setData([xs, pick((s) => s.p50Ms), pick((s) => s.p99Ms)]);
}

// --- stations, process managers ----------------------------------------------------------------

function applyStations(stations) {
  const box = $('stations');
  box.replaceChildren();
  for (const [id, state, calls, visits, escalations, turnstileId] of stations) {
    const div = document.createElement('div');
    div.className = 'station';
    div.dataset.state = state;
    div.title = `${id}: ${state}${turnstileId ? ` (last call for ${turnstileId})` : ''}; ${calls} calls, ${visits} visits completed, ${escalations} escalations`;
    const n = document.createElement('span');
    n.className = 'n';
    n.textContent = `${calls}·${visits}·${escalations}`;
    div.append(id, n);
    box.append(div);
  }
  $('stations-count').textContent = `(${stations.length}; calls·visits·escalations)`;
}

function applyProcesses(processes) {
  const body = $('processes');
  body.replaceChildren();
  for (const p of processes) {
    const tr = document.createElement('tr');
    tr.title = `${p.name}: ${p.lagEvents} events not handled yet, ${p.handled} handled; commands answered ok ${p.ok}, rejected ${p.rejected}, failed ${p.failed}; ${p.parked} streams parked`;
    for (const v of [p.name, fmt(p.lagEvents), fmt(p.handled), fmt(p.ok), fmt(p.rejected), fmt(p.failed), fmt(p.parked)]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    body.append(tr);
  }
}

// --- stream ------------------------------------------------------------------------------------

function apply(data, flash) {
  if (data.rows) applyRows(data.rows, flash);
  applyTotals(data.totals, data.lagEvents, data.simulator);
  applyCluster(data.cluster);
  if (data.aggregates) applyAggregates(data.aggregates);
  if (data.stations) applyStations(data.stations);
  if (data.processes) applyProcesses(data.processes);
  if (data.totals) applyCharts(data.simulator, data.eventsPerSecond);
}

const events = new EventSource('/events');
events.addEventListener('hello', (e) => {
  const data = JSON.parse(e.data);
  // Another app than the turnstile: hide the panels that read the turnstile read model.
  if (data.app) {
    document.body.classList.toggle('generic', !data.app.turnstile);
    $('app-name').textContent = data.app.turnstile ? 'turnstile demo' : `app ${data.app.name}`;
    document.title = data.app.turnstile ? 'Ratchet · turnstiles' : `Ratchet · ${data.app.name}`;
    for (const el of document.querySelectorAll('[data-stations]')) el.hidden = !data.app.stations;
    for (const el of document.querySelectorAll('[data-processes]')) el.hidden = (data.app.processes ?? []).length === 0;
  }
  // Embedded mode has a control endpoint but one worker in the demo's own process: say why the
  // buttons do nothing instead of showing ones that fail silently.
  const fixed = data.fixedWorkers ?? null;
  controllable = data.controllable && fixed === null;
  const add = $('add-worker');
  add.hidden = !data.controllable;
  add.disabled = fixed !== null;
  add.title = fixed ?? 'start another worker process; it takes its share of the partitions';
  $('workers-note').hidden = fixed === null;
  $('workers-note').textContent = fixed ?? '';
  const mode = $('mode');
  if (data.distributed) {
    mode.textContent = 'distributed';
    mode.className = 'badge ok';
  } else {
    mode.textContent = 'not distributed (embedded: one process, no servers)';
    mode.className = 'badge warn';
  }
  $('infra').textContent = data.infrastructure;
  apply(data, false);
});
events.addEventListener('tick', (e) => apply(JSON.parse(e.data), true));
events.addEventListener('open', () => {
  $('conn').textContent = 'live';
  $('conn').className = 'badge ok';
});
events.addEventListener('error', () => {
  $('conn').textContent = 'reconnecting…';
  $('conn').className = 'badge off';
});

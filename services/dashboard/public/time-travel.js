// The time-travel page: pick an aggregate (a turnstile by default), drag the slider over its
// versions; each position asks /api/time-travel/<type>/<id>?version=N (the store's loadAt) for the
// statechart state and the context there. Plain DOM, no framework, like app.js.

const $ = (id) => document.getElementById(id);
const state = { type: '', id: '', head: 0, states: [], events: [], shown: 0, asked: 0 };

async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

function text(el, value) {
  el.textContent = value;
  return el;
}

async function loadTypes() {
  const { types } = await getJson('/api/time-travel');
  const select = $('tt-type');
  for (const type of types) select.append(Object.assign(document.createElement('option'), { value: type, textContent: type }));
  if (types.includes('turnstile')) select.value = 'turnstile';
  // Ids to pick from: the turnstiles of the read model, when the app has it.
  const known = await getJson('/api/state').catch(() => ({ rows: [] }));
  const list = $('tt-ids');
  for (const row of (known.rows ?? []).slice(0, 500)) list.append(Object.assign(document.createElement('option'), { value: row[0] }));
  const params = new URLSearchParams(location.search);
  if (params.get('type')) select.value = params.get('type');
  if (params.get('id')) {
    $('tt-id').value = params.get('id');
    await loadHistory(Number(params.get('version')) || undefined);
  }
}

async function loadHistory(version) {
  state.type = $('tt-type').value;
  state.id = $('tt-id').value.trim();
  if (state.id === '') return;
  try {
    const history = await getJson(`/api/time-travel/${encodeURIComponent(state.type)}/${encodeURIComponent(state.id)}`);
    Object.assign(state, { head: history.head, states: history.states, events: history.events });
  } catch (error) {
    $('tt-view').hidden = true;
    text($('tt-message'), String(error.message));
    return;
  }
  text($('tt-message'), `${state.head} events. Drag the slider, or use ← → on it.`);
  text($('tt-stream'), `${state.type}/${state.id}`);
  const slider = $('tt-version');
  slider.max = String(state.head);
  slider.value = String(version !== undefined && version <= state.head ? version : state.head);
  const list = $('tt-events');
  list.replaceChildren(
    ...state.events.map((e) => {
      const li = document.createElement('li');
      li.value = e.version;
      li.dataset.version = String(e.version);
      li.textContent = `${e.type} · ${e.recordedAt}`;
      li.addEventListener('click', () => show(e.version));
      return li;
    }),
  );
  $('tt-view').hidden = false;
  await show(Number(slider.value));
}

async function show(version) {
  const slider = $('tt-version');
  slider.value = String(version);
  const asked = (state.asked += 1);
  let at;
  try {
    at = await getJson(`/api/time-travel/${encodeURIComponent(state.type)}/${encodeURIComponent(state.id)}?version=${version}`);
  } catch (error) {
    text($('tt-label'), String(error.message));
    return;
  }
  if (asked !== state.asked) return; // a later position was asked for meanwhile
  state.shown = at.version;
  $('tt-view').dataset.version = String(at.version);
  text($('tt-label'), `version ${at.version} of ${at.head} · ${at.recordedAt}`);
  text($('tt-where'), `after version ${at.version}`);
  const active = typeof at.value === 'string' ? at.value : Object.keys(at.value)[0];
  $('tt-states').replaceChildren(
    ...state.states.map((name) => {
      const box = text(document.createElement('div'), name);
      box.className = `tt-state${name === active ? ' active' : ''}`;
      box.dataset.state = name;
      return box;
    }),
  );
  text($('tt-value'), JSON.stringify(at.value));
  const context = at.context !== null && typeof at.context === 'object' ? at.context : { value: at.context };
  $('tt-context').replaceChildren(
    ...Object.entries(context).flatMap(([key, value]) => {
      const dd = text(document.createElement('dd'), typeof value === 'object' ? JSON.stringify(value) : String(value));
      dd.dataset.key = key;
      return [text(document.createElement('dt'), key), dd];
    }),
  );
  text($('tt-event'), at.event === null ? '(from the snapshot)' : `v${at.event.version} ${at.event.type}`);
  text($('tt-data'), at.event === null ? '' : JSON.stringify(at.event.data, null, 2));
  text($('tt-from'), at.from > 0 ? `folded from the snapshot at version ${at.from}` : 'folded from the first event');
  for (const li of $('tt-events').children) {
    const v = Number(li.dataset.version);
    li.classList.toggle('current', v === at.version);
    li.classList.toggle('after', v > at.version);
  }
  history.replaceState(null, '', `?type=${encodeURIComponent(state.type)}&id=${encodeURIComponent(state.id)}&version=${at.version}`);
}

$('pick').addEventListener('submit', (event) => {
  event.preventDefault();
  void loadHistory();
});
$('tt-version').addEventListener('input', (event) => void show(Number(event.target.value)));
$('tt-prev').addEventListener('click', () => state.shown > 1 && void show(state.shown - 1));
$('tt-next').addEventListener('click', () => state.shown < state.head && void show(state.shown + 1));
void loadTypes().catch((error) => text($('tt-message'), String(error.message)));

// LinkFlow JavaScript prelude: the n8n expression context as lazy globals.
// Evaluated once per runtime. Every getter reads the current evaluation through the
// natives in `__lfN`; values are converted on first use and cached for the rest of the
// evaluation (the runtime bumps `__lfE` before each one), so `$json` is the same object
// every time the code reads it and mutations are visible through `$input.item.json`.
(function () {
  'use strict';
  const N = globalThis.__lfN;
  let epoch = -1;
  let cache = null;
  function c() {
    if (epoch !== globalThis.__lfE) {
      epoch = globalThis.__lfE;
      cache = { nodes: new Map() };
    }
    return cache;
  }
  function lazy(name, get) {
    Object.defineProperty(globalThis, name, { get, configurable: true, enumerable: false });
  }
  function inputAll() {
    const k = c();
    if (k.all === undefined) {
      k.all = N.inputAll();
      // Keep identity with an item already handed out: `$input.item === $input.all()[i]`.
      if (k.item !== undefined && k.itemIndex < k.all.length) k.all[k.itemIndex] = k.item;
    }
    return k.all;
  }
  // The current item alone: reading `$json` converts one item, not the whole input.
  function currentItem() {
    const k = c();
    if (k.item === undefined) {
      const index = N.itemIndex();
      k.itemIndex = index;
      if (k.all !== undefined && index < k.all.length) {
        k.item = k.all[index];
      } else {
        const item = N.inputItem(index);
        if (item !== undefined) {
          k.item = item;
        } else {
          const binary = N.binary();
          k.item = binary === undefined ? { json: N.json() } : { json: N.json(), binary };
        }
      }
    }
    return k.item;
  }

  const input = Object.freeze({
    all: () => inputAll(),
    first: () => inputAll()[0],
    last: () => { const a = inputAll(); return a[a.length - 1]; },
    get item() { return currentItem(); },
    itemMatching: (i) => inputAll()[i],
    get params() { return {}; },
    get context() { return { noItemsLeft: false }; },
  });
  lazy('$input', () => input);
  lazy('$json', () => currentItem().json);
  lazy('$binary', () => currentItem().binary || {});
  lazy('$itemIndex', () => N.itemIndex());
  lazy('$runIndex', () => N.runIndex());
  lazy('items', () => inputAll());
  lazy('item', () => currentItem());
  lazy('$workflow', () => { const k = c(); return k.wf || (k.wf = N.workflow()); });
  lazy('$execution', () => { const k = c(); return k.ex || (k.ex = N.execution()); });
  lazy('$prevNode', () => { const k = c(); return k.prev || (k.prev = N.prevNode()); });
  lazy('$vars', () => { const k = c(); return k.vars || (k.vars = N.vars()); });
  lazy('$env', () => new Proxy({}, {
    get: (_, name) => (typeof name === 'string' ? N.env(name) : undefined),
  }));
  lazy('$mode', () => $execution.mode);
  // n8n's additional keys of one evaluation (HTTP Request pagination); undefined otherwise.
  for (const key of ['$response', '$request', '$pageCount', '$version']) lazy(key, () => N.extra(key));

  // n8n's checks when legacy syntax (`$node["Name"].json`, `$item(i)`) reads item `index`
  // of `items`: an index past the end fails the node; one that is no array index reads
  // undefined (so `.json` is a TypeError, as in n8n).
  function legacyItem(items, name, index) {
    if (items.length === 0) throw new Error(`Node '${name}' hasn't been executed`);
    if (items.length <= index) {
      throw new Error(`"${name}" node has ${items.length} item(s) but you're trying to access item ${index}`);
    }
    return items[index];
  }

  // `$('Name')`: the node's output items, its paired item, and shortcuts.
  function nodeRef(name) {
    name = String(name);
    const k = c();
    let ref = k.nodes.get(name);
    if (ref !== undefined) return ref;
    const all = (branch, run) => {
      const key = `all:${branch || 0}:${run === undefined ? '' : run}`;
      if (!(key in refCache)) refCache[key] = N.nodeItems(name, branch || 0, run === undefined ? -1 : run);
      return refCache[key];
    };
    const refCache = Object.create(null);
    const paired = () => {
      if (!('paired' in refCache)) refCache.paired = N.pairedItem(name);
      return refCache.paired;
    };
    ref = {
      all,
      first: (branch, run) => all(branch, run)[0],
      last: (branch, run) => { const a = all(branch, run); return a[a.length - 1]; },
      get item() { return paired(); },
      pairedItem: () => paired(),
      itemMatching: () => paired(),
      get json() { return legacyItem(all(), name, N.itemIndex()).json; },
      get binary() { return legacyItem(all(), name, N.itemIndex()).binary || {}; },
      get isExecuted() { return N.nodeExecuted(name); },
      get runIndex() { return N.runIndex(); },
      get parameter() { return {}; },
      get params() { return {}; },
      get context() { return {}; },
    };
    k.nodes.set(name, ref);
    return ref;
  }
  globalThis.$ = nodeRef;
  lazy('$node', () => new Proxy({}, { get: (_, name) => (typeof name === 'string' ? nodeRef(name) : undefined) }));
  lazy('$items', () => (name, branch, run) => (name === undefined ? inputAll() : nodeRef(name).all(branch, run)));
  // Legacy `$item(index, runIndex)`: the data proxy as if the current item were `index`
  // and other nodes' default run `runIndex` (their last run when absent), as n8n's
  // WorkflowDataProxy builds it. Unknown members read the ordinary globals.
  globalThis.$item = (index, run) => {
    const r = run === undefined ? -1 : run;
    const nodeAt = (name) => {
      name = String(name);
      const items = () => N.nodeItems(name, 0, r);
      return {
        get json() { return legacyItem(items(), name, index).json; },
        get data() { return legacyItem(items(), name, index).json; },
        get binary() { return legacyItem(items(), name, index).binary || {}; },
        get runIndex() { return nodeRef(name).runIndex; },
        get parameter() { return {}; },
        get context() { return {}; },
      };
    };
    const nodes = new Proxy({}, { get: (_, name) => (typeof name === 'string' ? nodeAt(name) : undefined) });
    const own = {
      get $json() { return legacyItem(inputAll(), '$input', index).json; },
      get $binary() { return legacyItem(inputAll(), '$input', index).binary || {}; },
      get $node() { return nodes; },
      get $itemIndex() { return index; },
      get $position() { return index; },
      get $thisItemIndex() { return index; },
    };
    return new Proxy(own, {
      get: (target, name) => (name in target ? target[name] : globalThis[name]),
    });
  };

  globalThis.$ifEmpty = (value, fallback) => {
    if (value === undefined || value === null || value === '') return fallback;
    if (Array.isArray(value) && value.length === 0) return fallback;
    if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
        && Object.keys(value).length === 0) return fallback;
    return value;
  };

  // `$jmespath(data, expression)`: the subset real workflows use — field paths, indices
  // (negative too), `[*]` and `[]` projections, and multi-select lists `[a, b]`.
  function jmes(data, expr) {
    expr = String(expr).trim();
    if (expr === '' || expr === '@') return data;
    let m;
    if ((m = /^\[\*\]\.?(.*)$/.exec(expr)) || (m = /^\[\]\.?(.*)$/.exec(expr))) {
      if (!Array.isArray(data)) return null;
      const src = expr.startsWith('[]') ? data.flat() : data;
      return src.map((x) => jmes(x, m[1])).filter((x) => x !== null && x !== undefined);
    }
    if ((m = /^\[(-?\d+)\]\.?(.*)$/.exec(expr))) {
      if (!Array.isArray(data)) return null;
      let i = Number(m[1]);
      if (i < 0) i += data.length;
      return jmes(data[i] === undefined ? null : data[i], m[2]);
    }
    if ((m = /^\[([^\[\]]+)\]$/.exec(expr))) {
      return m[1].split(',').map((p) => jmes(data, p));
    }
    if ((m = /^"?([A-Za-z_$][\w$-]*)"?(.*)$/.exec(expr))) {
      if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
      const next = data[m[1]] === undefined ? null : data[m[1]];
      const rest = m[2].startsWith('.') ? m[2].slice(1) : m[2];
      return rest === '' ? next : next === null ? null : jmes(next, rest);
    }
    throw new Error(`Unsupported JMESPath expression: ${expr}`);
  }
  globalThis.$jmespath = (data, expr) => jmes(data, expr);

  // Template helpers: a segment's TypeError makes it null (n8n), text joins as String().
  globalThis.__lfSeg = (f) => {
    try { return f(); } catch (e) { if (e instanceof TypeError) return null; throw e; }
  };
  globalThis.__lfCat = (parts) => {
    let out = '';
    for (const p of parts) out += p === null || p === undefined ? '' : String(p);
    return out;
  };

  // console.* goes to the runtime's bounded capture, never to stdout.
  function show(v) {
    if (typeof v === 'string') return v;
    try { const s = JSON.stringify(v); return s === undefined ? String(v) : s; } catch (_) { return String(v); }
  }
  const log = (...args) => N.log(args.map(show).join(' '));
  globalThis.console = Object.freeze({ log, info: log, warn: log, error: log, debug: log });

  N.wellFormed = (s) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  // No module loading in user code.
  globalThis.require = (name) => { throw new Error(`Cannot find module '${name}'`); };
})();

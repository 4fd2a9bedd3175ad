// n8n's extension methods on strings, arrays, objects and numbers, written for LinkFlow
// from n8n's documented behaviour. Installed as non-enumerable prototype methods so
// `Object.keys` and `JSON.stringify` never see them; a native method of the same name
// always wins (these are only added where the prototype has no such method).
(function () {
  'use strict';
  function define(proto, methods) {
    for (const [name, fn] of Object.entries(methods)) {
      if (Object.prototype.hasOwnProperty.call(proto, name)) continue;
      // Object methods must not reach booleans, functions and symbols through the
      // prototype chain: there n8n has no such method (a TypeError, so null).
      const value = proto !== Object.prototype ? fn : function (...args) {
        if (this === null || typeof this !== 'object') throw new TypeError(`${name} is not a function`);
        return fn.apply(this, args);
      };
      Object.defineProperty(proto, name, { value, writable: true, configurable: true, enumerable: false });
    }
  }
  const key = (v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : typeof v + ':' + String(v));
  const isPlain = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const numbers = (a) => a.filter((x) => typeof x === 'number' && !Number.isNaN(x));

  define(Array.prototype, {
    first() { return this[0]; },
    last() { return this[this.length - 1]; },
    isEmpty() { return this.length === 0; },
    isNotEmpty() { return this.length > 0; },
    unique(...fields) {
      const seen = new Set();
      return this.filter((x) => {
        const k = fields.length && isPlain(x) ? key(fields.map((f) => x[f])) : key(x);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    },
    removeDuplicates(...fields) { return this.unique(...fields); },
    sum() { return numbers(this).reduce((s, x) => s + x, 0); },
    max() { return Math.max(...numbers(this)); },
    min() { return Math.min(...numbers(this)); },
    average() { const n = numbers(this); return n.length ? n.reduce((s, x) => s + x, 0) / n.length : 0; },
    pluck(...fields) {
      return this.filter(isPlain).map((x) => {
        if (fields.length <= 1) return fields.length ? x[fields[0]] : x;
        const out = {};
        for (const f of fields) if (f in x) out[f] = x[f];
        return out;
      }).filter((x) => x !== undefined && x !== null);
    },
    chunk(size) {
      const n = Math.max(1, Math.floor(size) || 1);
      const out = [];
      for (let i = 0; i < this.length; i += n) out.push(this.slice(i, i + n));
      return out;
    },
    compact() {
      return this.filter((x) => x !== null && x !== undefined && x !== '' && !(typeof x === 'number' && Number.isNaN(x)))
        .map((x) => (isPlain(x) ? x.compact() : x));
    },
    difference(other) { const s = new Set(other.map(key)); return this.filter((x) => !s.has(key(x))); },
    intersection(other) { const s = new Set(other.map(key)); return this.filter((x) => s.has(key(x))).unique(); },
    union(other) { return this.concat(other).unique(); },
    smartJoin(keyField, valueField) {
      const out = {};
      for (const x of this) if (isPlain(x) && x[keyField] !== undefined) out[String(x[keyField])] = x[valueField];
      return out;
    },
    randomItem() { return this[Math.floor(Math.random() * this.length)]; },
    renameKeys(...pairs) { return this.map((x) => (isPlain(x) ? x.renameKeys(...pairs) : x)); },
    append(...values) { return this.concat(values); },
    toJsonString() { return JSON.stringify(this); },
  });

  define(Object.prototype, {
    isEmpty() { return Object.keys(this).length === 0; },
    isNotEmpty() { return Object.keys(this).length > 0; },
    hasField(name) { return Object.prototype.hasOwnProperty.call(this, name); },
    removeField(name) { const out = { ...this }; delete out[name]; return out; },
    removeFieldsContaining(text) {
      const out = {};
      for (const [k, v] of Object.entries(this)) if (!(typeof v === 'string' && v.includes(text))) out[k] = v;
      return out;
    },
    keepFieldsContaining(text) {
      const out = {};
      for (const [k, v] of Object.entries(this)) if (typeof v === 'string' && v.includes(text)) out[k] = v;
      return out;
    },
    compact() {
      const out = {};
      for (const [k, v] of Object.entries(this)) {
        if (v === null || v === undefined || v === '') continue;
        out[k] = isPlain(v) ? v.compact() : v;
      }
      return out;
    },
    renameKeys(...pairs) {
      const map = new Map();
      for (let i = 0; i + 1 < pairs.length; i += 2) map.set(pairs[i], pairs[i + 1]);
      const out = {};
      for (const [k, v] of Object.entries(this)) out[map.has(k) ? map.get(k) : k] = v;
      return out;
    },
    toJsonString() { return JSON.stringify(this); },
    urlEncode() { return Object.entries(this).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&'); },
    keys() { return Object.keys(this); },
    values() { return Object.values(this); },
  });

  const EMAIL = /[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/;
  const URL_RE = /https?:\/\/[^\s"'<>]+/;
  define(String.prototype, {
    isEmpty() { return this.length === 0; },
    isNotEmpty() { return this.length > 0; },
    isBlank() { return this.trim().length === 0; },
    toNumber() {
      const s = String(this).trim();
      const n = s === '' ? NaN : Number(s);
      if (Number.isNaN(n)) throw new Error('Cannot convert to number');
      return n;
    },
    toInt() { const n = parseInt(String(this), 10); return n; },
    toFloat() { return parseFloat(String(this)); },
    toBoolean() { const s = String(this).trim().toLowerCase(); return !(s === '' || s === 'false' || s === '0' || s === 'no' || s === 'n' || s === 'off'); },
    toDateTime(format) {
      const s = String(this);
      return format ? DateTime.fromFormat(s, format) : DateTime.__parseAny(s);
    },
    toJsonString() { return JSON.stringify(String(this)); },
    parseJson() { return JSON.parse(String(this)); },
    isEmail() { return new RegExp(`^${EMAIL.source}$`).test(String(this)); },
    isUrl() { return new RegExp(`^${URL_RE.source}$`).test(String(this)); },
    isNumeric() { const s = String(this).trim(); return s !== '' && !Number.isNaN(Number(s)); },
    extractEmail() { const m = EMAIL.exec(String(this)); return m ? m[0] : undefined; },
    extractUrl() { const m = URL_RE.exec(String(this)); return m ? m[0] : undefined; },
    extractDomain() {
      const s = String(this);
      const e = /@([A-Za-z0-9.-]+)/.exec(s);
      if (e && !s.includes('://')) return e[1];
      const m = /^(?:[a-z]+:\/\/)?(?:[^@/]+@)?([^/:?#]+)/i.exec(s);
      return m ? m[1] : undefined;
    },
    urlEncode(all) { return all ? encodeURIComponent(String(this)) : encodeURI(String(this)); },
    urlDecode(all) { return all ? decodeURIComponent(String(this)) : decodeURI(String(this)); },
    removeTags() { return String(this).replace(/<[^>]*>/g, ''); },
    toTitleCase() { return String(this).toLowerCase().replace(/(^|[\s-])(\p{L})/gu, (_, p, ch) => p + ch.toUpperCase()); },
    toSentenceCase() { const s = String(this).toLowerCase(); return s.charAt(0).toUpperCase() + s.slice(1); },
    toSnakeCase() { return String(this).replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[\s-]+/g, '_').toLowerCase(); },
    toCamelCase() { return String(this).toLowerCase().replace(/[\s_-]+(\p{L}|\d)/gu, (_, ch) => ch.toUpperCase()); },
    replaceSpecialChars() { return String(this).normalize('NFD').replace(/[\u0300-\u036f]/g, ''); },
    quote(mark = '"') { return mark + String(this).replaceAll(mark, '\\' + mark) + mark; },
  });

  define(Number.prototype, {
    isEmpty() { return false; },
    isNotEmpty() { return true; },
    round(digits = 0) { const f = 10 ** digits; return Math.round(Number(this) * f) / f; },
    ceil() { return Math.ceil(Number(this)); },
    floor() { return Math.floor(Number(this)); },
    abs() { return Math.abs(Number(this)); },
    isEven() { return Number(this) % 2 === 0; },
    isOdd() { return Math.abs(Number(this) % 2) === 1; },
    isInteger() { return Number.isInteger(Number(this)); },
    toBoolean() { return Number(this) !== 0; },
    toDateTime(format) {
      const n = Number(this);
      return format === 's' ? DateTime.fromSeconds(n) : DateTime.fromMillis(n);
    },
    format(locale, options) { return Number(this).toLocaleString(locale, options); },
  });
  define(Boolean.prototype, { toNumber() { return this.valueOf() ? 1 : 0; } });
})();

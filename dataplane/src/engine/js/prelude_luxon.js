// Luxon's common API (DateTime, Duration) for expressions and Code nodes, backed by the
// Rust date module through `__lfN.dt*` natives: a DateTime is an epoch-millisecond
// instant plus a zone name. `$now` / `$today` use the workflow timezone.
(function () {
  'use strict';
  const N = globalThis.__lfN;
  const defaultZone = () => N.timezone();
  const zoneOf = (opts) => (opts && opts.zone ? N.zoneName(String(opts.zone)) || 'UTC' : defaultZone());
  const UNITS = ['years', 'quarters', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'];
  const FIELD = { year: 0, month: 1, day: 2, hour: 3, minute: 4, second: 5, millisecond: 6, weekday: 7, offset: 8, ordinal: 9 };

  function normalizeUnit(u) {
    const s = String(u).toLowerCase();
    return s.endsWith('s') ? s : s + 's';
  }
  function durationValues(d) {
    if (d instanceof Duration) return d.values;
    if (typeof d === 'number') return { milliseconds: d };
    const out = {};
    for (const [k, v] of Object.entries(d || {})) out[normalizeUnit(k)] = Number(v);
    return out;
  }

  class Duration {
    constructor(values) { this.values = values; }
    static fromObject(o) { return new Duration(durationValues(o)); }
    static fromMillis(ms) { return new Duration({ milliseconds: Number(ms) }); }
    get isValid() { return true; }
    as(unit) { return N.durAs(this.values, normalizeUnit(unit)); }
    toMillis() { return N.durMillis(this.values); }
    toISO() { return N.durIso(this.values); }
    toObject() { return { ...this.values }; }
    toJSON() { return this.toISO(); }
    toString() { return this.toISO(); }
    valueOf() { return this.toMillis(); }
    negate() { const o = {}; for (const [k, v] of Object.entries(this.values)) o[k] = -v; return new Duration(o); }
    shiftTo(...units) {
      let rest = this.toMillis();
      const out = {};
      units.map(normalizeUnit).forEach((u, i) => {
        const size = N.durMillis({ [u]: 1 });
        const v = i === units.length - 1 ? rest / size : Math.trunc(rest / size);
        out[u] = v;
        rest -= v * size;
      });
      return new Duration(out);
    }
  }
  for (const u of UNITS) {
    Object.defineProperty(Duration.prototype, u, { get() { return this.values[u] || 0; } });
  }

  class DateTime {
    constructor(ms, zone) { this.ts = ms; this.zoneName = zone; }
    static __of(pair) { return new DateTime(pair[0], pair[1]); }
    static now() { return new DateTime(N.nowMs(), defaultZone()); }
    static local() { return arguments.length ? DateTime.fromObject({ year: arguments[0], month: arguments[1] || 1, day: arguments[2] || 1, hour: arguments[3] || 0, minute: arguments[4] || 0, second: arguments[5] || 0 }) : DateTime.now(); }
    static utc() { return arguments.length ? DateTime.fromObject({ year: arguments[0], month: arguments[1] || 1, day: arguments[2] || 1, hour: arguments[3] || 0, minute: arguments[4] || 0, second: arguments[5] || 0 }, { zone: 'UTC' }) : DateTime.now().toUTC(); }
    static fromISO(text, opts) { return DateTime.__of(N.dtParseIso(String(text), zoneOf(opts), !!(opts && opts.setZone))); }
    static fromSQL(text, opts) { return DateTime.__of(N.dtParseLoose(String(text), zoneOf(opts))); }
    static fromRFC2822(text, opts) { return DateTime.__of(N.dtParseLoose(String(text), zoneOf(opts))); }
    static fromHTTP(text, opts) { return DateTime.__of(N.dtParseLoose(String(text), zoneOf(opts))); }
    static fromFormat(text, format, opts) { return DateTime.__of(N.dtParseFormat(String(text), String(format), zoneOf(opts))); }
    static fromMillis(ms, opts) { return new DateTime(Number(ms), zoneOf(opts)); }
    static fromSeconds(s, opts) { return new DateTime(Number(s) * 1000, zoneOf(opts)); }
    static fromJSDate(d, opts) { return new DateTime(d.getTime(), zoneOf(opts)); }
    static fromObject(o, opts) {
      const z = zoneOf(opts);
      const p = (n, d) => String(n === undefined ? d : n).padStart(2, '0');
      const iso = `${String(o.year === undefined ? 1970 : o.year).padStart(4, '0')}-${p(o.month, 1)}-${p(o.day, 1)}T${p(o.hour, 0)}:${p(o.minute, 0)}:${p(o.second, 0)}.${String(o.millisecond || 0).padStart(3, '0')}`;
      return DateTime.__of(N.dtParseIso(iso, z, false));
    }
    static __parseAny(text) {
      const iso = DateTime.fromISO(text);
      return iso.isValid ? iso : DateTime.__of(N.dtParseLoose(text, defaultZone()));
    }
    static isDateTime(v) { return v instanceof DateTime; }
    static min(...d) { return d.reduce((a, b) => (b.ts < a.ts ? b : a)); }
    static max(...d) { return d.reduce((a, b) => (b.ts > a.ts ? b : a)); }

    get isValid() { return Number.isFinite(this.ts); }
    get invalidReason() { return this.isValid ? null : 'unparsable'; }
    __fields() {
      // Cached off the enumerable keys so `Object.keys(dt)` stays `ts, zoneName`.
      if (!this.__f) Object.defineProperty(this, '__f', { value: N.dtFields(this.ts, this.zoneName) });
      return this.__f;
    }
    get zone() { return { name: this.zoneName, type: 'iana' }; }
    get offset() { return this.__fields()[FIELD.offset]; }
    get weekdayLong() { return this.toFormat('cccc'); }
    get weekdayShort() { return this.toFormat('ccc'); }
    get monthLong() { return this.toFormat('LLLL'); }
    get monthShort() { return this.toFormat('LLL'); }
    get quarter() { return Math.ceil(this.month / 3); }
    get daysInMonth() { return this.endOf('month').day; }
    get weekNumber() { return Number(this.toFormat('W')); }
    toFormat(pattern) { return N.dtFormat(this.ts, this.zoneName, String(pattern)); }
    format(pattern) { return this.toFormat(pattern); }
    toISO() { return this.isValid ? N.dtIso(this.ts, this.zoneName) : null; }
    toISODate() { return this.isValid ? N.dtIsoDate(this.ts, this.zoneName) : null; }
    toISOTime() { return this.isValid ? this.toISO().slice(11) : null; }
    toSQL() { return this.toFormat('yyyy-MM-dd HH:mm:ss.SSS ZZ'); }
    toSQLDate() { return this.toISODate(); }
    toHTTP() { return this.toUTC().toFormat("ccc, dd LLL yyyy HH:mm:ss 'GMT'"); }
    toRFC2822() { return this.toFormat('ccc, dd LLL yyyy HH:mm:ss ZZZ'); }
    toLocaleString() { return this.toFormat('D'); }
    toMillis() { return this.ts; }
    toSeconds() { return this.ts / 1000; }
    toUnixInteger() { return Math.floor(this.ts / 1000); }
    toJSDate() { return new Date(this.ts); }
    toObject() { const o = {}; for (const k of ['year', 'month', 'day', 'hour', 'minute', 'second', 'millisecond']) o[k] = this[k]; return o; }
    toString() { return this.isValid ? this.toISO() : 'Invalid DateTime'; }
    toJSON() { return this.toISO(); }
    valueOf() { return this.ts; }
    setZone(zone, opts) {
      const z = N.zoneName(String(zone));
      if (!z) return new DateTime(NaN, 'UTC');
      if (opts && opts.keepLocalTime) return DateTime.fromObject(this.toObject(), { zone: z });
      return new DateTime(this.ts, z);
    }
    toUTC() { return new DateTime(this.ts, 'UTC'); }
    toLocal() { return new DateTime(this.ts, defaultZone()); }
    plus(d) { return DateTime.__of(N.dtPlus(this.ts, this.zoneName, durationValues(d), 1)); }
    minus(d) { return DateTime.__of(N.dtPlus(this.ts, this.zoneName, durationValues(d), -1)); }
    startOf(unit) { return DateTime.__of(N.dtStartOf(this.ts, this.zoneName, String(unit))); }
    endOf(unit) { return DateTime.__of(N.dtEndOf(this.ts, this.zoneName, String(unit))); }
    set(values) { return DateTime.fromObject({ ...this.toObject(), ...values }, { zone: this.zoneName }); }
    diff(other, units) {
      const list = units === undefined ? ['milliseconds'] : (Array.isArray(units) ? units : [units]);
      return new Duration(N.dtDiff(this.ts, other.ts, this.zoneName, list.map(normalizeUnit)));
    }
    diffNow(units) { return this.diff(DateTime.now(), units); }
    equals(other) { return other instanceof DateTime && this.ts === other.ts && this.zoneName === other.zoneName; }
    hasSame(other, unit) { return this.startOf(unit).ts === other.setZone(this.zoneName).startOf(unit).ts; }
    isBefore(other) { return this.ts < other.valueOf(); }
    isAfter(other) { return this.ts > other.valueOf(); }
  }
  for (const [name, index] of Object.entries(FIELD)) {
    if (name === 'offset') continue;
    Object.defineProperty(DateTime.prototype, name, { get() { return this.isValid ? this.__fields()[index] : NaN; } });
  }
  globalThis.DateTime = DateTime;
  globalThis.Duration = Duration;
  globalThis.Interval = { fromDateTimes: (a, b) => ({ start: a, end: b, length: (u) => b.diff(a, u).as(u || 'milliseconds') }) };
  Object.defineProperty(globalThis, '$now', { get: () => DateTime.now(), configurable: true });
  Object.defineProperty(globalThis, '$today', { get: () => DateTime.now().startOf('day'), configurable: true });
  // Date.toJSON already gives the ISO form; n8n's `toDateTime()` on a Date.
  Object.defineProperty(Date.prototype, 'toDateTime', { value() { return DateTime.fromJSDate(this); }, configurable: true, writable: true });
})();

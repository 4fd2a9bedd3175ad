//! Native functions the prelude calls: the current [`Scope`] (read lazily, one value per
//! call), the console capture and the Luxon bridge to [`crate::engine::datetime`].
//!
//! The scope of the running evaluation is reachable from the natives through a frame
//! that [`JsRuntime`](super::JsRuntime) installs for exactly the duration of one call
//! into JavaScript ([`FrameGuard`]).

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::rc::Rc;
use std::time::Instant;

use rquickjs::{Array, Ctx, Exception, Function, Object, Value as JsValue};

use super::bridge::{number, to_js};
use crate::engine::datetime::{self, DateTime, Duration, Unit, Zone};
use crate::engine::expr::Scope;
use crate::engine::item::Item;

/// Bytes of `console.log` output kept per run; the rest is counted as dropped.
pub const CONSOLE_BYTES_MAX: usize = 64 * 1024;

/// State shared by the runtime, its interrupt handler and the natives.
#[derive(Default)]
pub(crate) struct Shared {
    /// The scope of the evaluation in progress (`None` between evaluations).
    frame: Cell<Option<NonNull<dyn Scope<'static>>>>,
    /// When the evaluation in progress must stop.
    pub deadline: Cell<Option<Instant>>,
    /// Set by the interrupt handler when it stopped an evaluation.
    pub interrupted: Cell<bool>,
    /// Captured `console.log` lines.
    pub console: RefCell<Console>,
}

/// Bounded capture of `console.*` output.
#[derive(Debug, Default, Clone)]
pub struct Console {
    /// The lines kept.
    pub lines: Vec<String>,
    /// Bytes kept so far.
    pub bytes: usize,
    /// Lines dropped because the capture was full.
    pub dropped: usize,
}

impl Console {
    fn push(&mut self, line: String) {
        if self.bytes + line.len() > CONSOLE_BYTES_MAX {
            self.dropped += 1;
            return;
        }
        self.bytes += line.len();
        self.lines.push(line);
    }
}

/// Installs a scope as the current frame; clears it when dropped (also on unwind).
pub(crate) struct FrameGuard<'s> {
    shared: &'s Shared,
}

impl<'s> FrameGuard<'s> {
    pub fn install<'a>(shared: &'s Shared, scope: &'s dyn Scope<'a>) -> Self {
        // SAFETY: only the lifetimes are erased. The pointer is dereferenced only by the
        // natives while this guard lives (the guard outlives the call into JavaScript and
        // clears the frame on drop), and every value read through it is converted into a
        // JavaScript value at once, so nothing borrowed from 'a outlives the call.
        let erased: &'static dyn Scope<'static> =
            unsafe { std::mem::transmute::<&'s dyn Scope<'a>, &'static dyn Scope<'static>>(scope) };
        shared.frame.set(Some(NonNull::from(erased)));
        FrameGuard { shared }
    }
}

impl Drop for FrameGuard<'_> {
    fn drop(&mut self) {
        self.shared.frame.set(None);
    }
}

fn with_scope<'js, R>(
    ctx: &Ctx<'js>,
    shared: &Shared,
    f: impl FnOnce(&dyn Scope<'static>) -> rquickjs::Result<R>,
) -> rquickjs::Result<R> {
    match shared.frame.get() {
        // SAFETY: see `FrameGuard::install`; the frame is set only while the scope lives.
        Some(scope) => f(unsafe { scope.as_ref() }),
        None => Err(Exception::throw_internal(
            ctx,
            "LF-JS-007: no evaluation context",
        )),
    }
}

/// An item as JavaScript sees it: `{json, binary?, pairedItem?}`.
fn item_js<'js>(
    ctx: &Ctx<'js>,
    item: &Item<'_>,
    paired: Option<usize>,
) -> rquickjs::Result<JsValue<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("json", to_js(ctx, item.json)?)?;
    if !item.binary.is_nullish() {
        object.set("binary", to_js(ctx, item.binary)?)?;
    }
    if let Some(index) = paired {
        let p = Object::new(ctx.clone())?;
        p.set("item", index as f64)?;
        object.set("pairedItem", p)?;
    }
    Ok(object.into_value())
}

fn items_js<'js>(
    ctx: &Ctx<'js>,
    items: &[Item<'_>],
    paired: bool,
) -> rquickjs::Result<JsValue<'js>> {
    let array = Array::new(ctx.clone())?;
    for (i, item) in items.iter().enumerate() {
        array.set(i, item_js(ctx, item, paired.then_some(i))?)?;
    }
    Ok(array.into_value())
}

fn zone_of(name: &str) -> Zone {
    Zone::from_name(name).unwrap_or(Zone::Utc)
}

fn dt(ms: f64, zone: &str) -> DateTime {
    if ms.is_finite() {
        DateTime::new(ms as i64, zone_of(zone))
    } else {
        DateTime::invalid()
    }
}

/// `[ms, zoneName]` of a DateTime (`ms` NaN when invalid).
fn dt_js<'js>(ctx: &Ctx<'js>, value: DateTime) -> rquickjs::Result<JsValue<'js>> {
    let array = Array::new(ctx.clone())?;
    array.set(
        0,
        if value.valid {
            value.ms as f64
        } else {
            f64::NAN
        },
    )?;
    array.set(1, value.zone.name())?;
    Ok(array.into_value())
}

fn duration_from<'js>(values: &Object<'js>) -> rquickjs::Result<Duration> {
    let mut duration = Duration::default();
    for prop in values.props::<String, f64>() {
        let (name, value) = prop?;
        if let Some(unit) = Unit::from_name(&name) {
            duration.set(unit, value);
        }
    }
    Ok(duration)
}

fn duration_js<'js>(ctx: &Ctx<'js>, duration: &Duration) -> rquickjs::Result<JsValue<'js>> {
    let object = Object::new(ctx.clone())?;
    for (unit, value) in duration.entries() {
        object.set(unit.name(), number(ctx, value))?;
    }
    Ok(object.into_value())
}

fn unit_of<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Unit> {
    Unit::from_name(name)
        .ok_or_else(|| Exception::throw_range(ctx, &format!("Invalid unit {name}")))
}

/// Registers the natives as `globalThis.__lfN`.
pub(crate) fn register<'js>(ctx: &Ctx<'js>, shared: &Rc<Shared>) -> rquickjs::Result<()> {
    let n = Object::new(ctx.clone())?;
    macro_rules! native {
        ($name:literal, $f:expr) => {
            n.set($name, Function::new(ctx.clone(), $f)?.with_name($name)?)?;
        };
    }
    let s = shared.clone();
    native!("json", move |ctx: Ctx<'js>| with_scope(&ctx, &s, |sc| {
        to_js(&ctx, sc.json())
    }));
    let s = shared.clone();
    native!("binary", move |ctx: Ctx<'js>| with_scope(&ctx, &s, |sc| {
        to_js(&ctx, sc.binary())
    }));
    let s = shared.clone();
    native!("itemIndex", move |ctx: Ctx<'js>| with_scope(
        &ctx,
        &s,
        |sc| Ok(sc.item_index() as f64)
    ));
    let s = shared.clone();
    native!("runIndex", move |ctx: Ctx<'js>| with_scope(
        &ctx,
        &s,
        |sc| Ok(sc.run_index() as f64)
    ));
    let s = shared.clone();
    native!("inputLength", move |ctx: Ctx<'js>| {
        with_scope(&ctx, &s, |sc| Ok(sc.input_items().len() as f64))
    });
    let s = shared.clone();
    native!("inputItem", move |ctx: Ctx<'js>, i: f64| {
        with_scope(&ctx, &s, |sc| match sc.input_items().get(i as usize) {
            Some(item) => item_js(&ctx, item, Some(i as usize)),
            None => Ok(JsValue::new_undefined(ctx.clone())),
        })
    });
    let s = shared.clone();
    native!("inputAll", move |ctx: Ctx<'js>| {
        with_scope(&ctx, &s, |sc| items_js(&ctx, sc.input_items(), true))
    });
    let s = shared.clone();
    // `run` < 0: the node's last run.
    native!("nodeItems", move |ctx: Ctx<'js>,
                               name: String,
                               output: f64,
                               run: f64| {
        with_scope(&ctx, &s, |sc| {
            let output = output.max(0.0) as usize;
            let run = (run.is_finite() && run >= 0.0).then_some(run as usize);
            match sc.node_items(&name, output, run) {
                Ok(items) => items_js(&ctx, items, false),
                Err(error) => Err(Exception::throw_message(&ctx, &error.to_string())),
            }
        })
    });
    let s = shared.clone();
    native!("pairedItem", move |ctx: Ctx<'js>, name: String| {
        with_scope(&ctx, &s, |sc| match sc.paired_item(&name) {
            Ok(item) => item_js(&ctx, &item, None),
            Err(error) => Err(Exception::throw_message(&ctx, &error.to_string())),
        })
    });
    let s = shared.clone();
    native!("nodeExecuted", move |ctx: Ctx<'js>, name: String| {
        with_scope(&ctx, &s, |sc| {
            sc.node_executed(&name)
                .map_err(|error| Exception::throw_message(&ctx, &error.to_string()))
        })
    });
    let s = shared.clone();
    native!("prevNode", move |ctx: Ctx<'js>| {
        with_scope(&ctx, &s, |sc| {
            let prev = sc.prev_node();
            let o = Object::new(ctx.clone())?;
            o.set("name", prev.name)?;
            o.set("outputIndex", prev.output_index)?;
            o.set("runIndex", prev.run_index)?;
            Ok(o)
        })
    });
    let s = shared.clone();
    native!("workflow", move |ctx: Ctx<'js>| {
        with_scope(&ctx, &s, |sc| {
            let wf = sc.workflow();
            let o = Object::new(ctx.clone())?;
            o.set("id", wf.id)?;
            o.set("name", wf.name)?;
            o.set("active", wf.active)?;
            Ok(o)
        })
    });
    let s = shared.clone();
    native!("execution", move |ctx: Ctx<'js>| {
        with_scope(&ctx, &s, |sc| {
            let ex = sc.execution();
            let o = Object::new(ctx.clone())?;
            o.set("id", ex.id)?;
            o.set("mode", ex.mode)?;
            o.set("resumeUrl", ex.resume_url)?;
            Ok(o)
        })
    });
    let s = shared.clone();
    native!("nowMs", move |ctx: Ctx<'js>| with_scope(&ctx, &s, |sc| Ok(
        sc.now_ms() as f64
    )));
    let s = shared.clone();
    native!("timezone", move |ctx: Ctx<'js>| {
        with_scope(&ctx, &s, |sc| Ok(zone_of(sc.timezone()).name()))
    });
    let s = shared.clone();
    native!("env", move |ctx: Ctx<'js>, name: String| {
        with_scope(&ctx, &s, |sc| match sc.env(&name) {
            Ok(value) => to_js(&ctx, value),
            Err(error) => Err(Exception::throw_message(&ctx, &error.to_string())),
        })
    });
    let s = shared.clone();
    native!("vars", move |ctx: Ctx<'js>| with_scope(&ctx, &s, |sc| {
        to_js(&ctx, sc.vars())
    }));
    let s = shared.clone();
    native!("extra", move |ctx: Ctx<'js>, name: String| with_scope(
        &ctx,
        &s,
        |sc| { to_js(&ctx, sc.extra(&name)) }
    ));
    let s = shared.clone();
    native!("log", move |line: String| s.console.borrow_mut().push(line));
    register_datetime(ctx, &n)?;
    ctx.globals().set("__lfN", n)?;
    Ok(())
}

fn register_datetime<'js>(ctx: &Ctx<'js>, n: &Object<'js>) -> rquickjs::Result<()> {
    macro_rules! native {
        ($name:literal, $f:expr) => {
            n.set($name, Function::new(ctx.clone(), $f)?.with_name($name)?)?;
        };
    }
    native!("zoneName", |name: String| Zone::from_name(&name)
        .map(|z| z.name()));
    native!("dtParseIso", |ctx: Ctx<'js>,
                           text: String,
                           zone: String,
                           keep: bool| {
        dt_js(&ctx, datetime::parse_iso(&text, zone_of(&zone), keep))
    });
    native!("dtParseLoose", |ctx: Ctx<'js>,
                             text: String,
                             zone: String| {
        dt_js(&ctx, datetime::parse_loose(&text, zone_of(&zone)))
    });
    native!(
        "dtParseFormat",
        |ctx: Ctx<'js>, text: String, pattern: String, zone: String| {
            dt_js(
                &ctx,
                datetime::parse_format(&text, &pattern, zone_of(&zone)),
            )
        }
    );
    native!("dtFormat", |ms: f64, zone: String, pattern: String| {
        dt(ms, &zone).to_format(&pattern)
    });
    native!("dtIso", |ms: f64, zone: String| dt(ms, &zone).to_iso());
    native!("dtIsoDate", |ms: f64, zone: String| dt(ms, &zone)
        .to_iso_date());
    native!("dtFields", |ctx: Ctx<'js>, ms: f64, zone: String| {
        use chrono::{Datelike, Timelike};
        let value = dt(ms, &zone);
        let array = Array::new(ctx.clone())?;
        if !value.valid {
            return Ok::<_, rquickjs::Error>(array);
        }
        let f = value.fields();
        let fields = [
            f.local.year() as f64,
            f.local.month() as f64,
            f.local.day() as f64,
            f.local.hour() as f64,
            f.local.minute() as f64,
            f.local.second() as f64,
            f.local.and_utc().timestamp_subsec_millis() as f64,
            value.weekday() as f64,
            (f.offset / 60) as f64,
            f.local.ordinal() as f64,
        ];
        for (i, v) in fields.iter().enumerate() {
            array.set(i, *v)?;
        }
        Ok(array)
    });
    native!("dtPlus", |ctx: Ctx<'js>,
                       ms: f64,
                       zone: String,
                       d: Object<'js>,
                       sign: f64| {
        dt_js(&ctx, dt(ms, &zone).plus(&duration_from(&d)?, sign))
    });
    native!("dtStartOf", |ctx: Ctx<'js>,
                          ms: f64,
                          zone: String,
                          unit: String| {
        let unit = unit_of(&ctx, &unit)?;
        dt_js(&ctx, dt(ms, &zone).start_of(unit))
    });
    native!("dtEndOf", |ctx: Ctx<'js>,
                        ms: f64,
                        zone: String,
                        unit: String| {
        let unit = unit_of(&ctx, &unit)?;
        dt_js(&ctx, dt(ms, &zone).end_of(unit))
    });
    native!("dtDiff", |ctx: Ctx<'js>,
                       a: f64,
                       b: f64,
                       zone: String,
                       units: Vec<String>| {
        let mut parsed = Vec::with_capacity(units.len());
        for name in &units {
            parsed.push(unit_of(&ctx, name)?);
        }
        if parsed.is_empty() {
            parsed.push(Unit::Milliseconds);
        }
        duration_js(&ctx, &dt(a, &zone).diff(&dt(b, &zone), &parsed))
    });
    native!("durIso", |d: Object<'js>| duration_from(&d)
        .map(|d| d.to_iso()));
    native!("durAs", |ctx: Ctx<'js>, d: Object<'js>, unit: String| {
        let unit = unit_of(&ctx, &unit)?;
        duration_from(&d).map(|d| d.as_unit(unit))
    });
    native!("durMillis", |d: Object<'js>| duration_from(&d)
        .map(|d| d.to_millis()));
    native!("jsDateIso", |ms: f64| datetime::js_date_iso(ms));
    Ok(())
}

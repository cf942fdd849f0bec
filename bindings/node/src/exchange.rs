//! The native backend's hot call, written against Node-API by hand.
//!
//! A `#[napi]` method pays, on every call, for napi-rs's generic machinery: a type check
//! and a conversion per argument, strings copied out of V8 (`Utf8Length`, `WriteUtf8`)
//! into fresh `String`s, and the registry that guards `&self`/`&mut self` and typed-array
//! borrows (a global `Mutex<HashMap>`, locked twice per borrow). Measured with valgrind,
//! that crossing cost as many instructions as the decision itself. This function takes
//! the exchange `ArrayBuffer` the JS side has already written the request into
//! (`meshguard_core::compact::exchange`), and finds its policy set (and, for a limited
//! decider, its rate limiter) in the function's own data: one `napi_get_cb_info`, one
//! `napi_get_arraybuffer_info`, the decision, and at most one string back.
//!
//! Safety rests on three facts, each checked or owned here: the data pointer is the
//! `Engine` this module boxed for this very function and frees only in the function's
//! finalizer (so it lives as long as the function can be called); the buffer is borrowed
//! only for the call, during which no JavaScript runs (the core never calls back), so
//! nothing else reads or writes it; and no panic unwinds into V8 (`catch_unwind`).

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::rc::Rc;

use meshguard_core as core;
use napi::sys;

use crate::glue;

/// What one decider function decides with: its set's policies and compact state, shared
/// with the `PolicySet` object that made it (agents registered there, strings numbered
/// here are read there), and the state of the `RateLimiter` a limited decider counts in.
#[derive(Debug)]
pub struct Engine {
    pub set: Rc<core::PolicySet>,
    pub host: Rc<RefCell<glue::Compact>>,
    pub limiter: Option<Rc<RefCell<core::RateLimiter>>>,
}

/// A JS function `(exchange: ArrayBuffer, nowMs?: number) => string | undefined` that
/// decides the request written in the buffer (counting it in the engine's limiter, if it
/// has one, at the request's time, else `nowMs`) and owns `engine` (freed when the
/// function is collected).
pub fn function(env: sys::napi_env, engine: Engine) -> napi::Result<sys::napi_value> {
    let data = Box::into_raw(Box::new(engine)).cast::<c_void>();
    let name = "decideExchange";
    let mut f = ptr::null_mut();
    // SAFETY: `env` is the live env of the calling `#[napi]` method; `name` outlives the
    // call; `data` is the box just leaked, handed to the function's finalizer (`napi_wrap`,
    // available to every Node-API version we target) or freed here.
    let created = unsafe {
        sys::napi_create_function(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(call),
            data,
            &mut f,
        ) == sys::Status::napi_ok
            && sys::napi_wrap(
                env,
                f,
                data,
                Some(finalize),
                ptr::null_mut(),
                ptr::null_mut(),
            ) == sys::Status::napi_ok
    };
    if !created {
        // SAFETY: no function (or no finalizer) took ownership of the box.
        drop(unsafe { Box::from_raw(data.cast::<Engine>()) });
        return Err(napi::Error::from_reason(
            "cannot create the decider function",
        ));
    }
    Ok(f)
}

/// Frees a decider's engine when V8 collects the function.
unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the box `function` leaked for this function; finalizers run once.
    drop(unsafe { Box::from_raw(data.cast::<Engine>()) });
}

/// The decider's body: the record goes into the buffer, the text it points into (if any)
/// comes back as a string. Throws, deciding nothing, when called without the buffer.
unsafe extern "C" fn call(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let ok = sys::Status::napi_ok;
    let mut argc = 2;
    let mut argv = [ptr::null_mut(); 2];
    let mut data = ptr::null_mut();
    let mut bytes = ptr::null_mut();
    let mut len = 0;
    // SAFETY: called by Node-API with this callback's own `env` and `info`; `argv` has
    // room for `argc` values; `data` is the engine's box (see `function`).
    unsafe {
        let readable = sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        ) == ok
            && argc >= 1
            && !data.is_null()
            && sys::napi_get_arraybuffer_info(env, argv[0], &mut bytes, &mut len) == ok
            && !bytes.is_null();
        if !readable {
            return throw(env, c"decideExchange takes the exchange ArrayBuffer");
        }
        let engine = &*data.cast::<Engine>();
        let Ok(mut host) = engine.host.try_borrow_mut() else {
            return throw(env, c"decideExchange was called while deciding");
        };
        let Ok(mut limiter) = engine
            .limiter
            .as_ref()
            .map(|l| l.try_borrow_mut())
            .transpose()
        else {
            return throw(env, c"the rate limiter is in use");
        };
        // Node-API fills the arguments not passed with `undefined`: no time.
        let limit = limiter.as_deref_mut().map(|limiter| glue::Limit {
            limiter,
            now_ms: number(env, argv[1]),
        });
        // The buffer is the caller's argument, alive for the call; no JS runs meanwhile.
        let buf = std::slice::from_raw_parts_mut(bytes.cast::<u8>(), len);
        let decided = catch_unwind(AssertUnwindSafe(|| {
            glue::decide_exchange(&engine.set, &mut host, buf, limit)
        }));
        let mut out = ptr::null_mut();
        let status = match decided {
            // ASCII is Latin-1 too, which V8 copies as it is; UTF-8 it decodes.
            Ok(Some(text)) if text.is_ascii() => sys::napi_create_string_latin1(
                env,
                text.as_ptr().cast(),
                text.len() as isize,
                &mut out,
            ),
            Ok(Some(text)) => sys::napi_create_string_utf8(
                env,
                text.as_ptr().cast(),
                text.len() as isize,
                &mut out,
            ),
            Ok(None) => sys::napi_get_undefined(env, &mut out),
            Err(_) => return throw(env, c"the evaluator failed on this request"),
        };
        if status != ok {
            return throw(env, c"cannot return the decision's text");
        }
        out
    }
}

/// `value` as a number, `None` when it is not one (`undefined`: no time given).
///
/// # Safety
/// `env` must be the env of the running callback and `value` one of its values.
unsafe fn number(env: sys::napi_env, value: sys::napi_value) -> Option<f64> {
    let mut out = 0.0;
    // SAFETY: per this function's contract; a non-number fails with `napi_number_expected`.
    let read = unsafe { sys::napi_get_value_double(env, value, &mut out) };
    (read == sys::Status::napi_ok).then_some(out)
}

/// Throws a JS `Error` with `message`; the callback's return value is then ignored.
///
/// # Safety
/// `env` must be the env of the running callback.
unsafe fn throw(env: sys::napi_env, message: &std::ffi::CStr) -> sys::napi_value {
    // SAFETY: per this function's contract; `message` is NUL-terminated.
    unsafe { sys::napi_throw_error(env, ptr::null(), message.as_ptr()) };
    ptr::null_mut()
}

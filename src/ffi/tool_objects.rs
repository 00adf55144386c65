//! The MPI_T calls on variables, categories, events and sources, of which partyline has none: each returns the MPI_T code a tool expects for a name, index or handle that does not exist.
//!
//! MPI_T calls never invoke an error handler (see tool.rs), so a tool that probes these carries on.

use super::abi::{
    MPI_Count, MPI_Info, MPI_T_cb_safety, MPI_T_cvar_handle, MPI_T_enum, MPI_T_event_cb_function,
    MPI_T_event_dropped_cb_function, MPI_T_event_free_cb_function, MPI_T_event_instance, MPI_T_event_registration,
    MPI_T_pvar_handle, MPI_T_pvar_session, MPI_T_source_order,
};
use super::tool::{count, no_such_handle, no_such_index, no_such_name, not_supported};
use std::ffi::{c_char, c_int, c_void};

ffi_fn! {
    fn MPI_T_category_changed(update_number: *mut c_int) -> std::ffi::c_int {
        count(update_number, 0)
    }
}

ffi_fn! {
    fn MPI_T_category_get_categories(cat_index: c_int, len: c_int, indices: *mut c_int) -> std::ffi::c_int {
        let _ = (cat_index, len, indices);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_category_get_cvars(cat_index: c_int, len: c_int, indices: *mut c_int) -> std::ffi::c_int {
        let _ = (cat_index, len, indices);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_category_get_events(cat_index: c_int, len: c_int, indices: *mut c_int) -> std::ffi::c_int {
        let _ = (cat_index, len, indices);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_category_get_index(name: *const c_char, cat_index: *mut c_int) -> std::ffi::c_int {
        let _ = (name, cat_index);
        no_such_name()
    }
}

ffi_fn! {
    fn MPI_T_category_get_pvars(cat_index: c_int, len: c_int, indices: *mut c_int) -> std::ffi::c_int {
        let _ = (cat_index, len, indices);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_cvar_get_index(name: *const c_char, cvar_index: *mut c_int) -> std::ffi::c_int {
        let _ = (name, cvar_index);
        no_such_name()
    }
}

ffi_fn! {
    fn MPI_T_cvar_handle_alloc(cvar_index: c_int, obj_handle: *mut c_void, handle: *mut MPI_T_cvar_handle, count: *mut c_int) -> std::ffi::c_int {
        let _ = (cvar_index, obj_handle, handle, count);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_cvar_handle_free(handle: *mut MPI_T_cvar_handle) -> std::ffi::c_int {
        let _ = (handle,);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_cvar_read(handle: MPI_T_cvar_handle, buf: *mut c_void) -> std::ffi::c_int {
        let _ = (handle, buf);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_cvar_write(handle: MPI_T_cvar_handle, buf: *const c_void) -> std::ffi::c_int {
        let _ = (handle, buf);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_enum_get_info(enumtype: MPI_T_enum, num: *mut c_int, name: *mut c_char, name_len: *mut c_int) -> std::ffi::c_int {
        let _ = (enumtype, num, name, name_len);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_enum_get_item(enumtype: MPI_T_enum, indx: c_int, value: *mut c_int, name: *mut c_char, name_len: *mut c_int) -> std::ffi::c_int {
        let _ = (enumtype, indx, value, name, name_len);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_callback_get_info(event_registration: MPI_T_event_registration, cb_safety: MPI_T_cb_safety, info_used: *mut MPI_Info) -> std::ffi::c_int {
        let _ = (event_registration, cb_safety, info_used);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_callback_set_info(event_registration: MPI_T_event_registration, cb_safety: MPI_T_cb_safety, info: MPI_Info) -> std::ffi::c_int {
        let _ = (event_registration, cb_safety, info);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_copy(event_instance: MPI_T_event_instance, buffer: *mut c_void) -> std::ffi::c_int {
        let _ = (event_instance, buffer);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_get_index(name: *const c_char, event_index: *mut c_int) -> std::ffi::c_int {
        let _ = (name, event_index);
        no_such_name()
    }
}

ffi_fn! {
    fn MPI_T_event_get_source(event_instance: MPI_T_event_instance, source_index: *mut c_int) -> std::ffi::c_int {
        let _ = (event_instance, source_index);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_event_get_timestamp(event_instance: MPI_T_event_instance, event_timestamp: *mut MPI_Count) -> std::ffi::c_int {
        let _ = (event_instance, event_timestamp);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_handle_alloc(event_index: c_int, obj_handle: *mut c_void, info: MPI_Info, event_registration: *mut MPI_T_event_registration) -> std::ffi::c_int {
        let _ = (event_index, obj_handle, info, event_registration);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_event_handle_free(event_registration: MPI_T_event_registration, user_data: *mut c_void, free_cb_function: MPI_T_event_free_cb_function) -> std::ffi::c_int {
        let _ = (event_registration, user_data, free_cb_function);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_handle_get_info(event_registration: MPI_T_event_registration, info_used: *mut MPI_Info) -> std::ffi::c_int {
        let _ = (event_registration, info_used);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_handle_set_info(event_registration: MPI_T_event_registration, info: MPI_Info) -> std::ffi::c_int {
        let _ = (event_registration, info);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_read(event_instance: MPI_T_event_instance, element_index: c_int, buffer: *mut c_void) -> std::ffi::c_int {
        let _ = (event_instance, element_index, buffer);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_register_callback(event_registration: MPI_T_event_registration, cb_safety: MPI_T_cb_safety, info: MPI_Info, user_data: *mut c_void, event_cb_function: MPI_T_event_cb_function) -> std::ffi::c_int {
        let _ = (event_registration, cb_safety, info, user_data, event_cb_function);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_event_set_dropped_handler(event_registration: MPI_T_event_registration, dropped_cb_function: MPI_T_event_dropped_cb_function) -> std::ffi::c_int {
        let _ = (event_registration, dropped_cb_function);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_pvar_get_index(name: *const c_char, var_class: c_int, pvar_index: *mut c_int) -> std::ffi::c_int {
        let _ = (name, var_class, pvar_index);
        no_such_name()
    }
}

ffi_fn! {
    fn MPI_T_pvar_handle_alloc(session: MPI_T_pvar_session, pvar_index: c_int, obj_handle: *mut c_void, handle: *mut MPI_T_pvar_handle, count: *mut c_int) -> std::ffi::c_int {
        let _ = (session, pvar_index, obj_handle, handle, count);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_pvar_handle_free(session: MPI_T_pvar_session, handle: *mut MPI_T_pvar_handle) -> std::ffi::c_int {
        let _ = (session, handle);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_pvar_read(session: MPI_T_pvar_session, handle: MPI_T_pvar_handle, buf: *mut c_void) -> std::ffi::c_int {
        let _ = (session, handle, buf);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_pvar_readreset(session: MPI_T_pvar_session, handle: MPI_T_pvar_handle, buf: *mut c_void) -> std::ffi::c_int {
        let _ = (session, handle, buf);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_pvar_reset(session: MPI_T_pvar_session, handle: MPI_T_pvar_handle) -> std::ffi::c_int {
        let _ = (session, handle);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_pvar_session_create(session: *mut MPI_T_pvar_session) -> std::ffi::c_int {
        let _ = (session,);
        not_supported()
    }
}

ffi_fn! {
    fn MPI_T_pvar_session_free(session: *mut MPI_T_pvar_session) -> std::ffi::c_int {
        let _ = (session,);
        not_supported()
    }
}

ffi_fn! {
    fn MPI_T_pvar_start(session: MPI_T_pvar_session, handle: MPI_T_pvar_handle) -> std::ffi::c_int {
        let _ = (session, handle);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_pvar_stop(session: MPI_T_pvar_session, handle: MPI_T_pvar_handle) -> std::ffi::c_int {
        let _ = (session, handle);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_pvar_write(session: MPI_T_pvar_session, handle: MPI_T_pvar_handle, buf: *const c_void) -> std::ffi::c_int {
        let _ = (session, handle, buf);
        no_such_handle()
    }
}

ffi_fn! {
    fn MPI_T_source_get_info(source_index: c_int, name: *mut c_char, name_len: *mut c_int, desc: *mut c_char, desc_len: *mut c_int, ordering: *mut MPI_T_source_order, ticks_per_second: *mut MPI_Count, max_ticks: *mut MPI_Count, info: *mut MPI_Info) -> std::ffi::c_int {
        let _ = (source_index, name, name_len, desc, desc_len, ordering, ticks_per_second, max_ticks, info);
        no_such_index()
    }
}

ffi_fn! {
    fn MPI_T_source_get_timestamp(source_index: c_int, timestamp: *mut MPI_Count) -> std::ffi::c_int {
        let _ = (source_index, timestamp);
        no_such_index()
    }
}

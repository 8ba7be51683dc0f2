// Node-API argument helpers for every file's calls: a JS value into C, a
// number back, and a JS callback called from the event loop. A value of the
// wrong type reads as NULL, an empty array or -1; buffer_call and
// int32_array throw a TypeError instead.
#include <stdlib.h>

#include "addon.h"

/** A string's UTF-8 copy (the caller frees it), or NULL if `v` is not a string or there is no memory. */
char *string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/** An array of strings as a NULL-terminated vector for execve (free_array frees it), empty if `array` is NULL or no array; NULL if an item is not a string or there is no memory. */
char **string_array(napi_env env, napi_value array) {
  uint32_t n = 0;
  napi_get_array_length(env, array, &n);
  char **out = calloc(n + 1, sizeof(char *));
  if (!out) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, array, i, &item);
    if (!(out[i] = string_arg(env, item))) goto bad;
  }
  return out;
bad:
  free_array(out);
  return NULL;
}

void free_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

int int_arg(napi_env env, napi_value v) {
  int32_t n = -1;
  napi_get_value_int32(env, v, &n);
  return n;
}

napi_value number(napi_env env, double n) {
  napi_value v;
  napi_create_double(env, n, &v);
  return v;
}

/** Calls `callback` from a libuv callback, in its own handle scope, as `context`; what it throws is fatal, as a throw from a JS callback is. */
void call_back(napi_env env, napi_ref callback, napi_async_context context, size_t argc, const napi_value *argv) {
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, recv, ignored;
  napi_get_reference_value(env, callback, &fn);
  napi_get_global(env, &recv);
  if (napi_make_callback(env, context, recv, fn, argc, argv, &ignored) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

/** A call's `argc` arguments into `args`, the last a Buffer (its bytes in *data and *length); false, with a TypeError saying `expected` pending, if not. */
bool buffer_call(napi_env env, napi_callback_info info, size_t argc, napi_value *args, void **data, size_t *length, const char *expected) {
  size_t got = argc;
  napi_get_cb_info(env, info, &got, args, NULL, NULL);
  if (got >= argc && napi_get_buffer_info(env, args[argc - 1], data, length) == napi_ok) return true;
  napi_throw_type_error(env, NULL, expected);
  return false;
}

int32_t *int32_array(napi_env env, napi_value v, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &data, NULL, NULL) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "an Int32Array expected");
    return NULL;
  }
  return data;
}

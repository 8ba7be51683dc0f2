// The one V8 call Node-API has no counterpart for: a memory-reducing full
// collection, which also gives back the young generation's grown semi-spaces.
#include <v8.h>

#include "addon.h"

/** collectStartupGarbage(): one memory-reducing full GC, which V8's memory reducer (off in PID 1) would run in idle time ~8 s later. */
napi_value collect_startup_garbage(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate) isolate->LowMemoryNotification();
  return nullptr;
}

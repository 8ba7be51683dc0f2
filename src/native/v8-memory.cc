// The one V8 call Node-API has no counterpart for: a memory-reducing full
// collection, which also gives back the young generation's grown semi-spaces.
#include <v8.h>

extern "C" void berth_low_memory_notification(void) {
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate) isolate->LowMemoryNotification();
}

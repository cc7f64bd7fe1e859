// Compiled into every program of a -DSHARELINK_SANITIZE=thread build (cmake/Sanitizers.cmake): the
// ThreadSanitizer runtime asks for these suppressions at start, so no environment variable is needed.
//
// called_from_lib:libcpp-httplib.so: cpp-httplib is Debian's shared library, built without
// -fsanitize=thread. Its accesses are not instrumented and its own synchronisation (the inline fast
// path of a function-local static's guard, its atomics) is invisible to the analysis, so the
// interceptors it calls (memcmp, operator new, ...) report races on data it published correctly: for
// example a worker comparing a string another worker's first request built into a static. Only the
// interceptor calls made from inside that library are ignored; our code, handlers included, is
// checked in full.
extern "C" const char* __tsan_default_suppressions();

extern "C" const char* __tsan_default_suppressions() { return "called_from_lib:libcpp-httplib.so\n"; }

/* The CPython declarations are header-only; this file gives SwiftPM a C target to build. */
#include "cpython_api.h"

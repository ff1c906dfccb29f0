/* The system SQLite (libsqlite3-dev on Debian/Ubuntu, `sqlite3` in the SDK on macOS). */
#include <sqlite3.h>

// SQLite from Debian's libsqlite3-dev, the state file's database.
#include <sqlite3.h>

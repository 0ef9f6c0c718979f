// Declarations shared by the files of this target. Everything here is
// async-signal-safe (signal-safety(7)) unless its comment says otherwise:
// the crash handler uses it.

#ifndef REMAINROOT_CDEBUGSUPPORT_INTERNAL_H
#define REMAINROOT_CDEBUGSUPPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// A line of text built without allocating; text beyond the capacity is
// dropped.
struct line {
    char text[2048];
    size_t length;
};

void line_append(struct line *line, const char *text);
void line_append_bytes(struct line *line, const char *bytes, size_t count);
void line_append_decimal(struct line *line, int64_t value);
// Appends 0x and at least `digits` hexadecimal digits.
void line_append_hex(struct line *line, uint64_t value, int digits);

// Writes all of `count` bytes to `fd`, retrying after EINTR and partial
// writes. Returns 0 or -errno.
int write_fully(int fd, const void *bytes, size_t count);

// The mapping of a process that contains an address, from a copy of its
// /proc/PID/maps.
struct mapping {
    const char *path;
    size_t path_length;
    uint64_t start;
    uint64_t file_offset;
};

// Reads /proc/PID/maps (pid 0 for the caller) into `buffer`, at most
// `capacity` - 1 bytes, NUL-terminated. Returns the length or -errno.
ssize_t read_process_maps(pid_t pid, char *buffer, size_t capacity);

// Finds the file-backed mapping containing `address` in `maps`. Returns 1
// when found, else 0.
int find_mapping(const char *maps, uint64_t address, struct mapping *found);

// Starts the demangler process; call while the process has one thread.
// Not async-signal-safe. Returns 0 or -errno.
int demangler_start(void);

// Asks the demangler process to demangle `name` into `output`. Returns 1
// with the demangled name, or 0 when `name` is not mangled or the
// demangler did not answer within its time limit (it is then not asked
// again).
int demangler_request(const char *name, char *output, size_t capacity);

#endif

#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void line_append_bytes(struct line *line, const char *bytes, size_t count) {
    size_t room = sizeof line->text - line->length;
    if (count > room) {
        count = room;
    }
    memcpy(line->text + line->length, bytes, count);
    line->length += count;
}

void line_append(struct line *line, const char *text) {
    line_append_bytes(line, text, strlen(text));
}

void line_append_decimal(struct line *line, int64_t value) {
    char digits[24];
    size_t position = sizeof digits;
    // Negating INT64_MIN overflows, so work on the unsigned magnitude.
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    do {
        digits[--position] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0) {
        digits[--position] = '-';
    }
    line_append_bytes(line, digits + position, sizeof digits - position);
}

void line_append_hex(struct line *line, uint64_t value, int digits) {
    char text[18];
    size_t position = sizeof text;
    int written = 0;
    do {
        text[--position] = "0123456789abcdef"[value & 0xf];
        value >>= 4;
        written++;
    } while (value != 0 || written < digits);
    text[--position] = 'x';
    text[--position] = '0';
    line_append_bytes(line, text + position, sizeof text - position);
}

int write_fully(int fd, const void *bytes, size_t count) {
    const char *cursor = bytes;
    while (count > 0) {
        ssize_t written = write(fd, cursor, count);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        cursor += written;
        count -= (size_t)written;
    }
    return 0;
}

ssize_t read_process_maps(pid_t pid, char *buffer, size_t capacity) {
    struct line path = { .length = 0 };
    line_append(&path, "/proc/");
    if (pid == 0) {
        line_append(&path, "self");
    } else {
        line_append_decimal(&path, pid);
    }
    line_append(&path, "/maps");
    line_append_bytes(&path, "", 1);

    int fd = open(path.text, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    size_t length = 0;
    while (length + 1 < capacity) {
        ssize_t got = read(fd, buffer + length, capacity - 1 - length);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        length += (size_t)got;
    }
    close(fd);
    buffer[length] = '\0';
    return (ssize_t)length;
}

static uint64_t parse_hex(const char **cursor) {
    uint64_t value = 0;
    for (;;) {
        char c = **cursor;
        int digit;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else {
            return value;
        }
        value = value << 4 | (uint64_t)digit;
        (*cursor)++;
    }
}

static const char *skip_field(const char *cursor) {
    while (*cursor != ' ' && *cursor != '\n' && *cursor != '\0') {
        cursor++;
    }
    while (*cursor == ' ') {
        cursor++;
    }
    return cursor;
}

// Each line reads "start-end perms offset dev inode   path", with the path
// missing for anonymous memory (proc(5)).
int find_mapping(const char *maps, uint64_t address, struct mapping *found) {
    const char *cursor = maps;
    while (*cursor != '\0') {
        const char *line_start = cursor;
        uint64_t start = parse_hex(&cursor);
        uint64_t end = 0;
        if (*cursor == '-') {
            cursor++;
            end = parse_hex(&cursor);
        }
        cursor = skip_field(cursor);            // to perms
        cursor = skip_field(cursor);            // to offset
        uint64_t offset = parse_hex(&cursor);
        cursor = skip_field(cursor);            // to dev
        cursor = skip_field(cursor);            // to inode
        cursor = skip_field(cursor);            // to path
        const char *path = cursor;
        while (*cursor != '\n' && *cursor != '\0') {
            cursor++;
        }
        size_t path_length = (size_t)(cursor - path);
        if (*cursor == '\n') {
            cursor++;
        }
        if (cursor == line_start) {
            return 0;
        }
        if (address >= start && address < end && path_length > 0 && path[0] == '/') {
            found->path = path;
            found->path_length = path_length;
            found->start = start;
            found->file_offset = address - start + offset;
            return 1;
        }
    }
    return 0;
}

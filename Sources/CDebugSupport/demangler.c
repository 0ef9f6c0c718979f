// Demangling, in this process and in a helper process.
//
// The runtime's demanglers (swift_demangle, __cxa_demangle) allocate, so a
// signal handler must not call them: the fault may have happened inside
// malloc with its lock held. So the crash handler sends each mangled name
// over a socket to a helper process, forked at start-up while remainroot
// still had one thread, and reads back the demangled name. send, recv and
// poll are async-signal-safe. The helper is a grandchild, reparented to
// init at once, so the tracer's waitpid(-1) never sees it, and it exits
// when the socket reaches end-of-file, that is when remainroot exits.

#define _GNU_SOURCE
#include "CDebugSupport.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// From the Swift runtime (include/swift/Demangling/Demangle.h): returns a
// malloc'd string, or NULL when `mangled_name` is not a Swift symbol.
extern char *swift_demangle(const char *mangled_name, size_t length, char *output_buffer,
                            size_t *output_buffer_size, uint32_t flags);
// From libstdc++ (cxxabi.h), the Itanium C++ ABI demangler.
extern char *__cxa_demangle(const char *mangled_name, char *output_buffer, size_t *length, int *status);

// How long the crash handler waits for one answer before it gives up on
// the helper and prints mangled names.
enum { demangler_timeout_milliseconds = 2000 };

static int demangler_socket = -1;

char *debug_demangle(const char *name) {
    if (name[0] == '_' && name[1] == 'Z') {
        int status = 0;
        char *demangled = __cxa_demangle(name, NULL, NULL, &status);
        return status == 0 ? demangled : NULL;
    }
    // Swift 5 and later mangle with "$s" (Embedded Swift with "$e"),
    // Swift 4.2 with "$S" and Swift 4 with "_T0".
    int swift = (name[0] == '$' && (name[1] == 's' || name[1] == 'S' || name[1] == 'e'))
        || (name[0] == '_' && name[1] == 'T' && name[2] == '0');
    if (swift) {
        return swift_demangle(name, strlen(name), NULL, NULL, 0);
    }
    return NULL;
}

// The helper's loop: one line in, one line out, until end-of-file.
static void serve_requests(int fd) {
    char request[4096];
    size_t used = 0;
    for (;;) {
        ssize_t got = read(fd, request + used, sizeof request - 1 - used);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return;
        }
        used += (size_t)got;

        char *newline;
        while ((newline = memchr(request, '\n', used)) != NULL) {
            *newline = '\0';
            char *demangled = debug_demangle(request);
            // An empty answer means "not mangled".
            const char *answer = demangled != NULL ? demangled : "";
            size_t length = strlen(answer);
            for (size_t index = 0; index < length; index++) {
                if (answer[index] == '\n') {
                    demangled[index] = ' ';
                }
            }
            if (write_fully(fd, answer, length) < 0 || write_fully(fd, "\n", 1) < 0) {
                return;
            }
            free(demangled);

            size_t consumed = (size_t)(newline + 1 - request);
            memmove(request, newline + 1, used - consumed);
            used -= consumed;
        }
        if (used == sizeof request - 1) {
            // The crash handler sends names of at most 1023 bytes, so a
            // longer line is not from it.
            return;
        }
    }
}

int demangler_start(void) {
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) == -1) {
        return -errno;
    }

    pid_t middle = fork();
    if (middle == -1) {
        int error_number = errno;
        close(sockets[0]);
        close(sockets[1]);
        return -error_number;
    }
    if (middle == 0) {
        pid_t helper = fork();
        if (helper != 0) {
            _exit(helper == -1 ? 1 : 0);
        }
        // A new session, so that Ctrl-C on the terminal leaves the helper
        // alive until the report is written.
        setsid();
        prctl(PR_SET_NAME, "rr-demangler", 0, 0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0) {
            // Holding remainroot's standard output or error open would keep
            // a reader of its pipes waiting after remainroot exits.
            dup2(null_fd, 0);
            dup2(null_fd, 1);
            dup2(null_fd, 2);
        }
        close(sockets[0]);
        for (int fd = 3; fd < 1024; fd++) {
            if (fd != sockets[1]) {
                close(fd);
            }
        }
        serve_requests(sockets[1]);
        _exit(0);
    }

    close(sockets[1]);
    int status;
    while (waitpid(middle, &status, 0) == -1 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        close(sockets[0]);
        return -ECHILD;
    }
    demangler_socket = sockets[0];
    return 0;
}

int demangler_request(const char *name, char *output, size_t capacity) {
    if (demangler_socket < 0 || capacity == 0) {
        return 0;
    }
    struct line request = { .length = 0 };
    line_append_bytes(&request, name, strnlen(name, 1023));
    line_append(&request, "\n");
    // MSG_NOSIGNAL: a helper that died must not kill remainroot with
    // SIGPIPE in the middle of the report.
    size_t sent = 0;
    while (sent < request.length) {
        ssize_t count = send(demangler_socket, request.text + sent, request.length - sent, MSG_NOSIGNAL);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            goto failed;
        }
        sent += (size_t)count;
    }

    size_t length = 0;
    for (;;) {
        struct pollfd poll_fd = { .fd = demangler_socket, .events = POLLIN };
        int ready = poll(&poll_fd, 1, demangler_timeout_milliseconds);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            goto failed;
        }
        char chunk[512];
        ssize_t got = recv(demangler_socket, chunk, sizeof chunk, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            goto failed;
        }
        // The helper writes one line per request, so nothing follows the
        // newline.
        for (ssize_t index = 0; index < got; index++) {
            if (chunk[index] == '\n') {
                output[length < capacity ? length : capacity - 1] = '\0';
                return length > 0;
            }
            if (length < capacity - 1) {
                output[length] = chunk[index];
            }
            length++;
        }
    }

failed:
    close(demangler_socket);
    demangler_socket = -1;
    return 0;
}

// The crash handler for remainroot's own threads (remainroot --debug).
//
// Everything the handler calls is async-signal-safe. It uses write, open,
// read, kill, prctl, alarm, sigaction and _exit from signal-safety(7), and
// the helpers of internal.h. From libunwind it uses unw_init_local2,
// unw_step, unw_get_reg and unw_get_proc_name on the local address space,
// which libunwind(3) documents as signal-safe. Demangling happens in a
// helper process (see demangler.c). The handler runs on an alternate signal
// stack, so that a thread that overflowed its own stack is reported too.

#define _GNU_SOURCE
#include "CDebugSupport.h"
#include "internal.h"

#include <errno.h>
#include <libunwind.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
    // Enough for libunwind's cursor and its ELF symbol lookup, with room
    // to spare; the pages are only touched when a signal arrives.
    alternate_stack_size = 256 * 1024,
    max_report_fds = 4,
    // A deeper stack is shown as its innermost and outermost frames: the
    // fault, and for a stack overflow, where the recursion started.
    max_innermost_frames = 48,
    max_outermost_frames = 16,
    max_printed_frames = max_innermost_frames + max_outermost_frames,
    // A stack overflow leaves tens of thousands of frames; the report
    // counts at most this many.
    max_counted_frames = 1000000,
    // After this many seconds the handler stops reporting and exits, in
    // case libunwind or the demangler hangs on a damaged process.
    report_timeout_seconds = 20,
    // A SIGSEGV this close to the stack pointer is reported as a likely
    // stack overflow.
    stack_overflow_distance = 64 * 1024,
};

// The system call a thread is handling, for the report. Written only by
// its own thread, and read by that thread's signal handler.
struct activity {
    pid_t pid;
    int64_t number;
    const char *name;
    int handling;
};

static __thread __attribute__((tls_model("initial-exec"))) struct activity current_activity;
static __thread __attribute__((tls_model("initial-exec"))) int has_alternate_stack;

static int report_fds[max_report_fds];
static int report_fd_count;
static _Atomic pid_t command_pid;
// The thread id of the first thread that faulted, 0 before any fault.
static _Atomic pid_t crashing_thread;

static const int handled_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };

// Static, because the alternate stack is better spent on libunwind.
static char frame_name[1024];
static char demangled_name[4096];
static char own_maps[256 * 1024];

static void emit(struct line *line) {
    // A full line gives up its last byte, so that it still ends with a
    // newline.
    if (line->length == sizeof line->text) {
        line->length--;
    }
    line_append(line, "\n");
    for (int index = 0; index < report_fd_count; index++) {
        write_fully(report_fds[index], line->text, line->length);
    }
    line->length = 0;
}

static void emit_text(const char *text) {
    struct line line = { .length = 0 };
    line_append(&line, text);
    emit(&line);
}

// Kills the command and exits. PTRACE_O_EXITKILL then kills every other
// tracee, because each tracer thread's exit sends SIGKILL to its tracees.
static __attribute__((noreturn)) void finish(void) {
    pid_t command = atomic_load(&command_pid);
    if (command > 0) {
        kill(command, SIGKILL);
    }
    emit_text("remainroot: killing the traced processes and exiting with status 125");
    _exit(125);
}

static void handle_timeout(int signal_number) {
    (void)signal_number;
    emit_text("remainroot: the crash report timed out");
    finish();
}

static void append_thread(struct line *line, pid_t tid) {
    char name[17] = { 0 };
    prctl(PR_GET_NAME, name, 0, 0, 0);
    line_append(line, "thread '");
    line_append(line, name);
    line_append(line, "' (tid ");
    line_append_decimal(line, tid);
    line_append(line, tid == getpid() ? ", the main thread)" : ")");
}

static void append_signal(struct line *line, int signal_number, const siginfo_t *info) {
    const char *name = debug_signal_name(signal_number);
    line_append(line, "SIG");
    if (name != NULL) {
        line_append(line, name);
    } else {
        line_append_decimal(line, signal_number);
    }
    const char *code = debug_signal_code_name(signal_number, info->si_code);
    line_append(line, " (");
    if (code != NULL) {
        line_append(line, code);
    } else {
        line_append(line, "si_code ");
        line_append_decimal(line, info->si_code);
    }
    if (signal_number == SIGSEGV || signal_number == SIGBUS || signal_number == SIGILL || signal_number == SIGFPE) {
        line_append(line, " at address ");
        line_append_hex(line, (uint64_t)(uintptr_t)info->si_addr, 1);
    }
    line_append(line, ")");
}

static void report_activity(void) {
    struct line line = { .length = 0 };
    const struct activity *activity = &current_activity;
    if (activity->name == NULL) {
        emit_text("remainroot: the thread had not handled any system call of a tracee");
        return;
    }
    line_append(&line, activity->handling
        ? "remainroot: the thread was handling "
        : "remainroot: the thread was between stops; the last system call it handled was ");
    line_append(&line, activity->name);
    line_append(&line, " (");
    line_append_decimal(&line, activity->number);
    line_append(&line, ") of traced pid ");
    line_append_decimal(&line, activity->pid);
    emit(&line);
}

static void append_frame(struct line *line, int index, uint64_t address, const char *name, uint64_t offset, const char *maps) {
    line_append(line, "  #");
    line_append_decimal(line, index);
    line_append(line, index < 10 ? "  " : " ");
    line_append_hex(line, address, 16);
    line_append(line, " ");
    if (name[0] != '\0') {
        line_append(line, demangler_request(name, demangled_name, sizeof demangled_name) ? demangled_name : name);
        line_append(line, " + ");
        line_append_hex(line, offset, 1);
    } else {
        line_append(line, "??");
    }

    // Outer frames hold return addresses, which may point just past the
    // call's mapping; the call itself is one byte earlier.
    struct mapping mapping;
    if (maps != NULL && find_mapping(maps, index > 0 ? address - 1 : address, &mapping)) {
        const char *base = mapping.path;
        for (size_t position = 0; position < mapping.path_length; position++) {
            if (mapping.path[position] == '/') {
                base = mapping.path + position + 1;
            }
        }
        line_append(line, " in ");
        line_append_bytes(line, base, (size_t)(mapping.path + mapping.path_length - base));
    }
}

// Unwinds the faulting thread from the signal's context. libunwind steps
// from the faulting instruction itself, not from the handler.
static int start_unwinding(unw_cursor_t *cursor, void *context) {
    return unw_init_local2(cursor, (unw_context_t *)context, UNW_INIT_SIGNAL_FRAME);
}

static void emit_frame(unw_cursor_t *cursor, int index, const char *maps) {
    unw_word_t address = 0;
    unw_word_t offset = 0;
    unw_get_reg(cursor, UNW_REG_IP, &address);
    frame_name[0] = '\0';
    int found = unw_get_proc_name(cursor, frame_name, sizeof frame_name, &offset);
    // UNW_ENOMEM returns a truncated name, which is still useful.
    if (found < 0 && found != -UNW_ENOMEM) {
        frame_name[0] = '\0';
    }
    struct line line = { .length = 0 };
    append_frame(&line, index, address, frame_name, offset, maps);
    emit(&line);
}

static void report_stack(int signal_number, const siginfo_t *info, void *context, pid_t tid) {
    struct line line = { .length = 0 };
    unw_cursor_t cursor;
    int result = start_unwinding(&cursor, context);
    if (result < 0) {
        line_append(&line, "remainroot: cannot unwind the stack: ");
        line_append(&line, unw_strerror(result));
        emit(&line);
        return;
    }

    unw_word_t stack_pointer = 0;
    unw_get_reg(&cursor, UNW_REG_SP, &stack_pointer);
    uint64_t fault = (uint64_t)(uintptr_t)info->si_addr;
    uint64_t distance = fault > stack_pointer ? fault - stack_pointer : stack_pointer - fault;
    if (signal_number == SIGSEGV && distance < stack_overflow_distance) {
        emit_text("remainroot: the address is next to the stack pointer: this is probably a stack overflow");
    }

    // The first pass only counts, so that the second pass can find the
    // outermost frames.
    int frames = 1;
    while (frames < max_counted_frames && unw_step(&cursor) > 0) {
        frames++;
    }

    ssize_t maps_length = read_process_maps(0, own_maps, sizeof own_maps);
    const char *maps = maps_length > 0 ? own_maps : NULL;

    line_append(&line, "remainroot: stack of ");
    append_thread(&line, tid);
    line_append(&line, ", innermost frame first:");
    emit(&line);

    if (start_unwinding(&cursor, context) < 0) {
        return;
    }
    int first_outer = frames > max_printed_frames ? frames - max_outermost_frames : max_printed_frames;
    for (int index = 0; index < frames; index++) {
        if (index < max_innermost_frames || index >= first_outer) {
            emit_frame(&cursor, index, maps);
        } else if (index == max_innermost_frames) {
            line_append(&line, "  ... ");
            line_append_decimal(&line, first_outer - max_innermost_frames);
            line_append(&line, " frames not shown");
            emit(&line);
        }
        if (unw_step(&cursor) <= 0) {
            break;
        }
    }
    if (frames >= max_counted_frames) {
        emit_text("  ... the report stopped counting; the stack goes on");
    }
}

static void handle_crash(int signal_number, siginfo_t *info, void *context) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    pid_t expected = 0;
    if (!atomic_compare_exchange_strong(&crashing_thread, &expected, tid)) {
        if (expected == tid) {
            // SA_NODEFER lets a fault inside the report come back here.
            emit_text("remainroot: a second fault occurred while writing the crash report");
            finish();
        }
        // Another thread is writing its report and will end the process.
        for (;;) {
            pause();
        }
    }

    struct sigaction timeout = { .sa_handler = handle_timeout };
    sigemptyset(&timeout.sa_mask);
    sigaction(SIGALRM, &timeout, NULL);
    alarm(report_timeout_seconds);

    struct line line = { .length = 0 };
    line_append(&line, "remainroot: internal error: ");
    append_signal(&line, signal_number, info);
    line_append(&line, " in ");
    append_thread(&line, tid);
    emit(&line);

    report_activity();
    report_stack(signal_number, info, context, tid);
    finish();
}

int debug_prepare_thread(void) {
    if (has_alternate_stack) {
        return 0;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t minimum = (size_t)sysconf(_SC_SIGSTKSZ);
    size_t size = alternate_stack_size > minimum ? alternate_stack_size : minimum;
    // One guard page below the stack turns an overflow of the handler
    // itself into a fault instead of silent corruption.
    char *memory = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (memory == MAP_FAILED) {
        return -errno;
    }
    if (mprotect(memory, page, PROT_NONE) == -1) {
        int error_number = errno;
        munmap(memory, size + page);
        return -error_number;
    }
    stack_t stack = { .ss_sp = memory + page, .ss_size = size, .ss_flags = 0 };
    if (sigaltstack(&stack, NULL) == -1) {
        int error_number = errno;
        munmap(memory, size + page);
        return -error_number;
    }
    has_alternate_stack = 1;
    return 0;
}

// Walks the caller's own stack once, outside any signal handler, so that
// libunwind's one-time initialization (its locks, caches and the first
// dl_iterate_phdr) is done before a handler needs it.
static void warm_up_unwinder(void) {
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) < 0 || unw_init_local(&cursor, &context) < 0) {
        return;
    }
    do {
        char name[256];
        unw_word_t offset;
        unw_get_proc_name(&cursor, name, sizeof name, &offset);
    } while (unw_step(&cursor) > 0);
}

int debug_install_crash_handlers(const int *fds, int count) {
    report_fd_count = 0;
    for (int index = 0; index < count && index < max_report_fds; index++) {
        report_fds[report_fd_count++] = fds[index];
    }

    // Without the demangler the report shows mangled names, which is
    // better than no report.
    (void)demangler_start();
    warm_up_unwinder();
    int result = debug_prepare_thread();
    if (result < 0) {
        return result;
    }

    struct sigaction action = { .sa_sigaction = handle_crash };
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (size_t index = 0; index < sizeof handled_signals / sizeof handled_signals[0]; index++) {
        if (sigaction(handled_signals[index], &action, NULL) == -1) {
            return -errno;
        }
    }
    return 0;
}

void debug_set_command(pid_t pid) {
    atomic_store(&command_pid, pid);
}

void debug_note_syscall(pid_t pid, const char *name, int64_t number) {
    if (!has_alternate_stack) {
        (void)debug_prepare_thread();
    }
    // The fences keep the compiler from reordering the stores, so that a
    // signal arriving in between reads a whole record, old or new, because
    // `handling` is written last.
    current_activity.handling = 0;
    atomic_signal_fence(memory_order_seq_cst);
    current_activity.pid = pid;
    current_activity.number = number;
    current_activity.name = name;
    atomic_signal_fence(memory_order_seq_cst);
    current_activity.handling = 1;
}

void debug_note_syscall_done(void) {
    atomic_signal_fence(memory_order_seq_cst);
    current_activity.handling = 0;
}

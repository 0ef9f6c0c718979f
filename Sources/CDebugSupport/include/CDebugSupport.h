// remainroot --debug: crash reports for remainroot's own threads and stack
// reports of traced programs, both through libunwind. Every function
// returns 0 or a count on success and a negative value on failure, so no
// Swift code reads errno.

#ifndef REMAINROOT_CDEBUGSUPPORT_H
#define REMAINROOT_CDEBUGSUPPORT_H

#include <stdint.h>
#include <sys/types.h>

// MARK: - remainroot's own threads

// Installs handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP
// and SIGSYS that print a report to each of the `count` descriptors in
// `fds` (at most 4), kill the command and exit with status 125. It first
// starts the demangler process and unwinds once, so that the handler finds
// libunwind initialized. Call once, while the process has one thread,
// because it forks. Returns 0 or -errno.
int debug_install_crash_handlers(const int *fds, int count);

// Gives the calling thread its own alternate signal stack, so that a stack
// overflow can still be reported. Does nothing on a thread that has one.
// Returns 0 or -errno.
int debug_prepare_thread(void);

// Sets the command's pid, which a crash report kills first.
void debug_set_command(pid_t pid);

// Records that the calling thread starts handling system call `number`
// (`name` must stay valid for the life of the process) of tracee `pid`,
// for the crash report. Also gives the thread an alternate stack the first
// time.
void debug_note_syscall(pid_t pid, const char *name, int64_t number);

// Records that the calling thread finished handling that system call.
void debug_note_syscall_done(void);

// MARK: - Traced programs

// One frame of a traced thread's stack.
struct debug_frame {
    // The instruction pointer (for outer frames, the return address).
    uint64_t address;
    // `address` minus the start of `name`; meaningful when name[0] != 0.
    uint64_t offset;
    // The symbol, mangled, or empty when libunwind found none.
    char name[1024];
    // The mapped file the address belongs to, or empty.
    char object[512];
    // The address as an offset into `object`, as strace -k prints it.
    uint64_t object_offset;
};

// Unwinds the stack of tracee `pid` with libunwind-ptrace, innermost frame
// first. Call only from the thread that is pid's tracer, while pid is in a
// ptrace stop. Returns the number of frames stored (at most `capacity`),
// or a negative libunwind error code (UNW_E*).
int debug_unwind_tracee(pid_t pid, struct debug_frame *frames, int capacity);

// libunwind's message for a negative error code of debug_unwind_tracee.
const char *debug_unwind_error(int code);

// What PTRACE_GETSIGINFO returns about the signal of a signal-delivery stop.
struct debug_signal_info {
    int code;
    // The faulting address, for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP.
    uint64_t address;
    // The sender, for a signal sent with kill, tgkill or sigqueue; else 0.
    pid_t sender;
};

// Reads the siginfo of tracee `pid`. Call from its tracer, at a
// signal-delivery stop. Returns 0 or -errno.
int debug_tracee_signal_info(pid_t pid, struct debug_signal_info *info);

// MARK: - Names

// The name of a signal without its SIG prefix ("SEGV"), or NULL.
const char *debug_signal_name(int signal_number);

// The name of a si_code for `signal_number` ("SEGV_MAPERR"), or NULL.
const char *debug_signal_code_name(int signal_number, int code);

// Demangles a Swift or C++ symbol with the runtime's own demanglers.
// Returns a string the caller frees with free(3), or NULL when `name` is
// not a mangled name. Not async-signal-safe: it allocates.
char *debug_demangle(const char *name);

#endif

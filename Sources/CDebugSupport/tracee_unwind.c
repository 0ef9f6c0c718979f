// Stacks of traced programs, through libunwind-ptrace (libunwind-ptrace(3)),
// and names of signals. None of this runs in a signal handler.

#define _GNU_SOURCE
#include "CDebugSupport.h"
#include "internal.h"

#include <errno.h>
#include <libunwind-ptrace.h>
#include <libunwind.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

enum { max_maps_size = 4 * 1024 * 1024 };

static void copy_text(char *destination, size_t capacity, const char *source, size_t length) {
    if (length >= capacity) {
        length = capacity - 1;
    }
    memcpy(destination, source, length);
    destination[length] = '\0';
}

int debug_unwind_tracee(pid_t pid, struct debug_frame *frames, int capacity) {
    unw_addr_space_t space = unw_create_addr_space(&_UPT_accessors, 0);
    if (space == NULL) {
        return -UNW_ENOMEM;
    }
    void *context = _UPT_create(pid);
    if (context == NULL) {
        unw_destroy_addr_space(space);
        return -UNW_ENOMEM;
    }

    unw_cursor_t cursor;
    int result = unw_init_remote(&cursor, space, context);
    if (result < 0) {
        _UPT_destroy(context);
        unw_destroy_addr_space(space);
        return result;
    }

    // Without the maps the frames still have names, only no file.
    char *maps = malloc(max_maps_size);
    if (maps != NULL && read_process_maps(pid, maps, max_maps_size) <= 0) {
        free(maps);
        maps = NULL;
    }

    int count = 0;
    do {
        struct debug_frame *frame = &frames[count];
        unw_word_t address = 0;
        unw_word_t offset = 0;
        unw_get_reg(&cursor, UNW_REG_IP, &address);
        frame->address = address;
        frame->offset = 0;
        frame->name[0] = '\0';
        frame->object[0] = '\0';
        frame->object_offset = 0;

        int found = unw_get_proc_name(&cursor, frame->name, sizeof frame->name, &offset);
        if (found == 0 || found == -UNW_ENOMEM) {
            frame->offset = offset;
        } else {
            frame->name[0] = '\0';
        }

        // Outer frames hold return addresses, which may point just past
        // the call's mapping; the call itself is one byte earlier.
        uint64_t lookup = count > 0 ? address - 1 : address;
        struct mapping mapping;
        if (maps != NULL && find_mapping(maps, lookup, &mapping)) {
            copy_text(frame->object, sizeof frame->object, mapping.path, mapping.path_length);
            frame->object_offset = mapping.file_offset + (address - lookup);
        }
        count++;
    } while (count < capacity && unw_step(&cursor) > 0);

    free(maps);
    _UPT_destroy(context);
    unw_destroy_addr_space(space);
    return count;
}

const char *debug_unwind_error(int code) {
    return unw_strerror(code);
}

int debug_tracee_signal_info(pid_t pid, struct debug_signal_info *info) {
    siginfo_t raw;
    memset(&raw, 0, sizeof raw);
    if (ptrace(PTRACE_GETSIGINFO, pid, NULL, &raw) == -1) {
        return -errno;
    }
    info->code = raw.si_code;
    info->address = 0;
    info->sender = 0;
    switch (raw.si_signo) {
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
        if (raw.si_code > 0) {
            info->address = (uint64_t)(uintptr_t)raw.si_addr;
        }
        break;
    default:
        break;
    }
    // si_code SI_USER (kill), SI_TKILL (tgkill) and SI_QUEUE (sigqueue)
    // carry the sender's pid.
    if (raw.si_code == SI_USER || raw.si_code == SI_TKILL || raw.si_code == SI_QUEUE) {
        info->sender = raw.si_pid;
    }
    return 0;
}

const char *debug_signal_name(int signal_number) {
    return sigabbrev_np(signal_number);
}

const char *debug_signal_code_name(int signal_number, int code) {
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    default: break;
    }
    switch (signal_number) {
    case SIGSEGV:
        switch (code) {
        case SEGV_MAPERR: return "SEGV_MAPERR";
        case SEGV_ACCERR: return "SEGV_ACCERR";
        case SEGV_BNDERR: return "SEGV_BNDERR";
        case SEGV_PKUERR: return "SEGV_PKUERR";
        default: return NULL;
        }
    case SIGBUS:
        switch (code) {
        case BUS_ADRALN: return "BUS_ADRALN";
        case BUS_ADRERR: return "BUS_ADRERR";
        case BUS_OBJERR: return "BUS_OBJERR";
        case BUS_MCEERR_AR: return "BUS_MCEERR_AR";
        case BUS_MCEERR_AO: return "BUS_MCEERR_AO";
        default: return NULL;
        }
    case SIGILL:
        switch (code) {
        case ILL_ILLOPC: return "ILL_ILLOPC";
        case ILL_ILLOPN: return "ILL_ILLOPN";
        case ILL_ILLADR: return "ILL_ILLADR";
        case ILL_ILLTRP: return "ILL_ILLTRP";
        case ILL_PRVOPC: return "ILL_PRVOPC";
        case ILL_PRVREG: return "ILL_PRVREG";
        case ILL_COPROC: return "ILL_COPROC";
        case ILL_BADSTK: return "ILL_BADSTK";
        default: return NULL;
        }
    case SIGFPE:
        switch (code) {
        case FPE_INTDIV: return "FPE_INTDIV";
        case FPE_INTOVF: return "FPE_INTOVF";
        case FPE_FLTDIV: return "FPE_FLTDIV";
        case FPE_FLTOVF: return "FPE_FLTOVF";
        case FPE_FLTUND: return "FPE_FLTUND";
        case FPE_FLTRES: return "FPE_FLTRES";
        case FPE_FLTINV: return "FPE_FLTINV";
        case FPE_FLTSUB: return "FPE_FLTSUB";
        default: return NULL;
        }
    case SIGTRAP:
        switch (code) {
        case TRAP_BRKPT: return "TRAP_BRKPT";
        case TRAP_TRACE: return "TRAP_TRACE";
        default: return NULL;
        }
    case SIGSYS:
        // SYS_SECCOMP from <linux/signal.h>; glibc does not define it.
        return code == 1 ? "SYS_SECCOMP" : NULL;
    default:
        return NULL;
    }
}

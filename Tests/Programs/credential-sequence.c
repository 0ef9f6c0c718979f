/*
 * credential-sequence: runs sequences of credential system calls and prints
 * the full credential state after each call, so that the output of a run as
 * real root can be compared line by line with a run under remainroot.
 *
 * Usage: credential-sequence [--capability-mask HEX] [--files DIR] [FILE]
 *
 * DIR is where the file operations below create their files. It must be
 * searchable by everyone, so that a sequence that dropped root can still
 * run them, and on a nosuid mount their set-user-ID bits have no effect.
 * The program runs itself again after an exec with the internal options
 * --program, --sequence, --first-line and --after-exec.
 *
 * FILE (standard input when absent) contains one sequence per line. Blank
 * lines and lines starting with '#' are skipped. Operations are separated by
 * ';' and their arguments by spaces, for example
 *
 *     setresuid 1000 1000 0; setuid 0; getresuid buf unmapped buf
 *
 * Before the first sequence the process resets itself to uid 0, gid 0,
 * groups [0] and keepcaps 0. Each sequence then runs in its own forked child,
 * so that no credential change leaks into the next one.
 *
 * Every call is made with syscall(2), never through the glibc wrappers,
 * because those broadcast set*id calls to every thread and check arguments
 * themselves. Arguments are passed as 64-bit longs, so the cases with upper
 * bits set need a 64-bit ABI. Only x86_64 has been tried.
 *
 * Ids and sizes are parsed as signed 64-bit numbers and passed to the kernel
 * unchanged, so "-1" arrives as 0xffffffffffffffff and "4294967295" as
 * 0x00000000ffffffff. The kernel reads only the low 32 bits of both.
 *
 * Operations (ID and SIZE are numbers, POINTER is one of the kinds below):
 *   setuid ID, setgid ID, setfsuid ID, setfsgid ID
 *   setreuid ID ID, setregid ID ID
 *   setresuid ID ID ID, setresgid ID ID ID
 *   setgroups SIZE POINTER [ID,ID,...]
 *   getgroups SIZE POINTER
 *   getresuid POINTER POINTER POINTER, getresgid POINTER POINTER POINTER
 *   keepcaps N          prctl(PR_SET_KEEPCAPS, N)
 *   getkeepcaps         prctl(PR_GET_KEEPCAPS)
 *   capget [OPTION...]  capget, by default version 3 of the calling thread
 *   capget-probe        capget with version 0 and a NULL data pointer, which
 *                       libcap uses to learn the kernel's preferred version
 *   capget-fault        capget with an unmapped header
 *   capset [CHANGE|OPTION...]
 *                       capset of the current sets with each CHANGE applied,
 *                       for example "eff-7 prm-7 inh+6"
 *   capget and capset OPTIONs: v1, v2, v3 or version=HEX for the header
 *   version; pid=0, pid=self, pid=parent, pid=none (no such process) or
 *   pid=neg (-5) for the header pid, pid=tid for the calling thread's id;
 *   data=KIND for the data pointer.
 *   securebits HEX      prctl(PR_SET_SECUREBITS, HEX)
 *   capbset-read N      prctl(PR_CAPBSET_READ, N)
 *   capbset-drop N      prctl(PR_CAPBSET_DROP, N)
 *   ambient OP N        prctl(PR_CAP_AMBIENT, OP, N), OP one of is-set,
 *                       raise, lower, clear-all
 *   prctl N N N N N     prctl with five raw arguments (the option is an int,
 *                       so the kernel ignores its upper 32 bits)
 *   exec                execve of this program, which prints its state
 *                       ("exec = 0 -> auxv U E G EG secure S | STATE",
 *                       the AT_UID, AT_EUID, AT_GID, AT_EGID and AT_SECURE
 *                       entries of its auxiliary vector) and runs the rest
 *                       of the sequence in the new image
 *   file NAME           copies this program to DIR/N-NAME (N is the number
 *                       of the sequence), mode 0755
 *   chown NAME ID ID, fchown NAME ID ID
 *                       chown(2) of that copy, or fchown(2) of a descriptor
 *                       opened read-only on it
 *   chmod NAME OCTAL    chmod(2) of that copy
 *   stat NAME           stat(2) of that copy ("-> uid U gid G mode OCTAL")
 *   exec-file NAME      execve of that copy, which runs the rest of the
 *                       sequence like "exec"; with a set-user-ID or
 *                       set-group-ID mode it runs with its owner's ids
 *   nonewprivs          prctl(PR_SET_NO_NEW_PRIVS, 1)
 *   fork                fork(2): the child prints "fork = 0 | STATE" and
 *                       runs the rest of the sequence, then the parent
 *                       prints "fork (parent) = child exit CODE | STATE"
 *                       and stops
 *   thread-start        starts a helper thread, which gets a copy of the
 *                       credentials of the calling thread
 *   thread OPERATION    runs OPERATION in the helper thread (starting it
 *                       first if needed) and prints the helper's state. The
 *                       kernel changes the credentials of one thread only.
 *
 * Pointer kinds:
 *   buf       a writable buffer large enough for the call. For setgroups it
 *             contains the listed ids followed by zeros.
 *   null      NULL
 *   ro        a page mapped PROT_READ
 *   none      a page mapped PROT_NONE
 *   unmapped  a page that was unmapped
 *   edge      the last 4 bytes of a writable page that is followed by the
 *             PROT_NONE page. For setgroups the first listed id is stored there.
 *
 * Output, one line per event:
 *   sequence N: TEXT
 *   start | STATE
 *   OPERATION = RESULT [ERRNO] [-> DETAIL] | STATE
 *   end exit CODE (or: end signal N)
 * where STATE is
 *   uid R E S fsuid F gid R E S fsgid F groups [G ...]
 *   eff 0xX prm 0xX inh 0xX sec 0xX
 * (on one line): the capability sets from capget and the securebits from
 * PR_GET_SECUREBITS. The capability sets are ANDed with --capability-mask
 * (default: all bits), so that capabilities outside the host's bounding set
 * do not differ.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "credential-sequence has been tried on x86_64 only; check its 64-bit argument cases before using it elsewhere"
#endif

/* NGROUPS_MAX of <linux/limits.h> plus room for a larger request. */
#define GROUP_BUFFER_COUNT (65536 + 64)
/* The value getresuid's output slots hold until the kernel writes them. */
#define UNWRITTEN 0xdeadbeefu

static uint64_t capability_mask = UINT64_MAX;
static long page_size;
/* This program's absolute path, which the exec operation runs again even
 * from a copy made by "file". */
static char program_path[4096];
/* Where the file operations create their files, or NULL without --files. */
static const char *files_directory;
/* The number of the running sequence, which keeps the file names of
 * different sequences apart. */
static long sequence_number;

/* Mapped at start-up, before the first fork, so every child has the same
 * layout. */
static uint32_t *group_buffer;
static unsigned char *writable_page; /* followed directly by none_page */
static unsigned char *none_page;
static unsigned char *read_only_page;
static unsigned char *unmapped_page;

static const char *errno_name(int number)
{
    /* glibc 2.32's strerrorname_np gives the symbolic name. */
    const char *name = strerrorname_np(number);
    if (name != NULL) {
        return name;
    }

    static char unknown[32];
    snprintf(unknown, sizeof unknown, "E%d", number);
    return unknown;
}

/* Exits with _exit, because a forked child that ran exit() would flush the
 * shared input stream and move the parent's read offset. */
static void fail(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    fputs("credential-sequence: ", stderr);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    fflush(stdout);
    _exit(2);
}

static void map_pages(void)
{
    page_size = sysconf(_SC_PAGESIZE);

    group_buffer = calloc(GROUP_BUFFER_COUNT, sizeof *group_buffer);
    if (group_buffer == NULL)
        fail("cannot allocate the group buffer");

    /* Four adjacent pages: writable, PROT_NONE, PROT_READ, unmapped. */
    unsigned char *pages = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED)
        fail("mmap of the test pages failed");
    writable_page = pages;
    none_page = pages + page_size;
    read_only_page = pages + 2 * page_size;
    unmapped_page = pages + 3 * page_size;
    if (mprotect(none_page, page_size, PROT_NONE) != 0
        || mprotect(read_only_page, page_size, PROT_READ) != 0
        || munmap(unmapped_page, page_size) != 0)
        fail("mprotect or munmap of the test pages failed");
}

/* Returns the pointer of a given kind. `good` is what "buf" means for this
 * call. */
static void *pointer_of_kind(const char *kind, void *good)
{
    if (strcmp(kind, "buf") == 0) return good;
    if (strcmp(kind, "null") == 0) return NULL;
    if (strcmp(kind, "ro") == 0) return read_only_page;
    if (strcmp(kind, "none") == 0) return none_page;
    if (strcmp(kind, "unmapped") == 0) return unmapped_page;
    if (strcmp(kind, "edge") == 0) return none_page - sizeof(uint32_t);
    fail("unknown pointer kind '%s'", kind);
}

static long parse_number(const char *text)
{
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        fail("invalid number '%s'", text);
    }
    return (long)value;
}

/* Appends to a fixed-size line buffer, and fails when a line outgrows it. */
struct line {
    char text[8192];
    size_t length;
};

static void append(struct line *line, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void append(struct line *line, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    size_t room = sizeof line->text - line->length;
    int written = vsnprintf(line->text + line->length, room, format, arguments);
    va_end(arguments);
    if (written < 0 || (size_t)written >= room)
        fail("output line too long");
    line->length += (size_t)written;
}

/* The three capability sets of the calling thread, each as one 64-bit mask
 * and not yet ANDed with capability_mask. */
struct capability_sets {
    uint64_t effective;
    uint64_t permitted;
    uint64_t inheritable;
};

static long read_capabilities(struct capability_sets *sets)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    long result = syscall(SYS_capget, &header, data);
    sets->effective = (uint64_t)data[1].effective << 32 | data[0].effective;
    sets->permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    sets->inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
    return result;
}

static void append_capabilities(struct line *line, const struct capability_sets *sets)
{
    append(line, "eff 0x%" PRIx64 " prm 0x%" PRIx64 " inh 0x%" PRIx64,
           sets->effective & capability_mask, sets->permitted & capability_mask,
           sets->inheritable & capability_mask);
}

/* Appends a group list: in full up to 16 entries, and as a count and an
 * FNV-1a hash beyond, so that a list of 65536 groups fits on one line. */
static void append_groups(struct line *line, const gid_t *groups, long count)
{
    if (count > 16) {
        uint32_t hash = 2166136261u;
        for (long i = 0; i < count; i++) {
            for (int shift = 0; shift < 32; shift += 8) {
                hash ^= (groups[i] >> shift) & 0xff;
                hash *= 16777619u;
            }
        }
        append(line, "[%ld groups, fnv1a 0x%08x]", count, hash);
        return;
    }
    append(line, "[");
    for (long i = 0; i < count; i++)
        append(line, i == 0 ? "%u" : " %u", groups[i]);
    append(line, "]");
}

/* Appends the whole credential state, read with the same raw calls. */
static void append_state(struct line *line)
{
    uid_t uids[3] = {UNWRITTEN, UNWRITTEN, UNWRITTEN};
    gid_t gids[3] = {UNWRITTEN, UNWRITTEN, UNWRITTEN};

    if (syscall(SYS_getresuid, &uids[0], &uids[1], &uids[2]) == 0)
        append(line, "uid %u %u %u", uids[0], uids[1], uids[2]);
    else
        append(line, "uid %s", errno_name(errno));
    /* setfsuid(-1) changes nothing and returns the current fsuid. */
    append(line, " fsuid %lu", (unsigned long)syscall(SYS_setfsuid, -1L));

    if (syscall(SYS_getresgid, &gids[0], &gids[1], &gids[2]) == 0)
        append(line, " gid %u %u %u", gids[0], gids[1], gids[2]);
    else
        append(line, " gid %s", errno_name(errno));
    append(line, " fsgid %lu", (unsigned long)syscall(SYS_setfsgid, -1L));

    long count = syscall(SYS_getgroups, 0L, NULL);
    if (count < 0) {
        append(line, " groups %s", errno_name(errno));
    } else {
        gid_t *groups = calloc((size_t)count + 1, sizeof *groups);
        long got = syscall(SYS_getgroups, count, groups);
        if (got < 0) {
            append(line, " groups %s", errno_name(errno));
        } else {
            append(line, " groups ");
            append_groups(line, groups, got);
        }
        free(groups);
    }

    struct capability_sets sets;
    append(line, " ");
    if (read_capabilities(&sets) == 0)
        append_capabilities(line, &sets);
    else
        append(line, "capget %s", errno_name(errno));

    long securebits = syscall(SYS_prctl, (long)PR_GET_SECUREBITS, 0L, 0L, 0L, 0L);
    if (securebits >= 0)
        append(line, " sec 0x%lx", securebits);
    else
        append(line, " sec %s", errno_name(errno));
}

/* Splits `text` at spaces into at most `capacity` words. */
static int split_words(char *text, char **words, int capacity)
{
    int count = 0;
    for (char *word = strtok(text, " \t"); word != NULL; word = strtok(NULL, " \t")) {
        if (count == capacity)
            fail("too many arguments in one operation");
        words[count++] = word;
    }
    return count;
}

static void require_arguments(int count, int expected, const char *name)
{
    if (count != expected + 1) {
        fail("%s takes %d arguments, got %d", name, expected, count - 1);
    }
}

static long call_setgroups(char **words, int count)
{
    if (count != 3 && count != 4)
        fail("setgroups takes SIZE POINTER [ID,ID,...]");
    long size = parse_number(words[1]);

    uint32_t ids[64];
    int id_count = 0;
    if (count == 4) {
        for (char *id = strtok(words[3], ","); id != NULL; id = strtok(NULL, ",")) {
            if (id_count == 64)
                fail("setgroups lists at most 64 ids");
            ids[id_count++] = (uint32_t)parse_number(id);
        }
    }

    memset(group_buffer, 0, GROUP_BUFFER_COUNT * sizeof *group_buffer);
    memcpy(group_buffer, ids, id_count * sizeof *ids);
    void *list = pointer_of_kind(words[2], group_buffer);
    if (list == none_page - sizeof(uint32_t))
        memcpy(list, id_count > 0 ? &ids[0] : &(uint32_t){0}, sizeof(uint32_t));

    return syscall(SYS_setgroups, size, list);
}

static long call_getgroups(char **words, int count, struct line *detail)
{
    require_arguments(count, 2, "getgroups");
    long size = parse_number(words[1]);
    void *list = pointer_of_kind(words[2], group_buffer);

    long result = syscall(SYS_getgroups, size, list);
    if (result > 0 && list == group_buffer) {
        append(detail, " -> ");
        append_groups(detail, group_buffer, result);
    }
    return result;
}

/* getresuid and getresgid: each "buf" pointer gets its own slot, and the
 * detail shows which slots the kernel wrote before it stopped. */
static long call_getresid(long number, char **words, int count, struct line *detail)
{
    require_arguments(count, 3, words[0]);
    uint32_t slots[3] = {UNWRITTEN, UNWRITTEN, UNWRITTEN};
    void *pointers[3];
    for (int i = 0; i < 3; i++)
        pointers[i] = pointer_of_kind(words[i + 1], &slots[i]);

    long result = syscall(number, pointers[0], pointers[1], pointers[2]);
    int saved = errno;
    append(detail, " ->");
    for (int i = 0; i < 3; i++) {
        if (pointers[i] != &slots[i])
            append(detail, " *");
        else if (slots[i] == UNWRITTEN)
            append(detail, " -");
        else
            append(detail, " %u", slots[i]);
    }
    errno = saved;
    return result;
}

/* The header and data pointer of a capget or capset call, set by the
 * options version=HEX (or v1, v2, v3), pid=0|self|parent|none|neg and
 * data=buf|null|ro|unmapped. */
struct capability_call {
    struct __user_cap_header_struct header;
    struct __user_cap_data_struct data[2];
    void *data_pointer;
};

/* Applies one option word. Returns 0 when the word is not an option. */
static int apply_capability_option(struct capability_call *call, const char *word)
{
    if (strcmp(word, "v1") == 0) {
        call->header.version = _LINUX_CAPABILITY_VERSION_1;
    } else if (strcmp(word, "v2") == 0) {
        call->header.version = _LINUX_CAPABILITY_VERSION_2;
    } else if (strcmp(word, "v3") == 0) {
        call->header.version = _LINUX_CAPABILITY_VERSION_3;
    } else if (strncmp(word, "version=", 8) == 0) {
        char *end;
        call->header.version = (uint32_t)strtoul(word + 8, &end, 16);
        if (word[8] == '\0' || *end != '\0')
            fail("invalid capability version '%s'; expected a hexadecimal number", word + 8);
    } else if (strcmp(word, "pid=0") == 0) {
        call->header.pid = 0;
    } else if (strcmp(word, "pid=self") == 0) {
        call->header.pid = getpid();
    } else if (strcmp(word, "pid=tid") == 0) {
        call->header.pid = (pid_t)syscall(SYS_gettid);
    } else if (strcmp(word, "pid=parent") == 0) {
        call->header.pid = getppid();
    } else if (strcmp(word, "pid=none") == 0) {
        /* Above any pid_max (at most 2^22), so no process has it. */
        call->header.pid = 0x3fffffff;
    } else if (strcmp(word, "pid=neg") == 0) {
        call->header.pid = -5;
    } else if (strncmp(word, "data=", 5) == 0) {
        call->data_pointer = pointer_of_kind(word + 5, call->data);
    } else {
        return 0;
    }
    return 1;
}

static void prepare_capability_call(struct capability_call *call)
{
    memset(call, 0, sizeof *call);
    call->header.version = _LINUX_CAPABILITY_VERSION_3;
    call->data_pointer = call->data;
}

/* Appends the version the kernel wrote back into the header, if it changed
 * it. The kernel replaces an unknown version with its preferred one. */
static void append_version_change(struct line *detail, uint32_t requested, uint32_t returned)
{
    if (returned != requested)
        append(detail, " -> version 0x%x", returned);
}

/* Calls capget with the given options. "capget-probe" is version 0 with a
 * NULL data pointer and "capget-fault" an unmapped header. */
static long call_capget(char **words, int count, struct line *detail)
{
    struct capability_call call;
    prepare_capability_call(&call);

    if (strcmp(words[0], "capget-fault") == 0) {
        require_arguments(count, 0, words[0]);
        return syscall(SYS_capget, unmapped_page, call.data);
    }
    if (strcmp(words[0], "capget-probe") == 0) {
        require_arguments(count, 0, words[0]);
        call.header.version = 0;
        call.data_pointer = NULL;
    }
    for (int i = 1; i < count; i++) {
        if (!apply_capability_option(&call, words[i]))
            fail("invalid capget option '%s'", words[i]);
    }

    uint32_t requested = call.header.version;
    long result = syscall(SYS_capget, &call.header, call.data_pointer);
    int saved = errno;
    append_version_change(detail, requested, call.header.version);
    if (result == 0 && call.data_pointer == call.data) {
        struct capability_sets sets = {
            (uint64_t)call.data[1].effective << 32 | call.data[0].effective,
            (uint64_t)call.data[1].permitted << 32 | call.data[0].permitted,
            (uint64_t)call.data[1].inheritable << 32 | call.data[0].inheritable,
        };
        append(detail, " -> ");
        append_capabilities(detail, &sets);
    }
    errno = saved;
    return result;
}

/* Calls capset with the current sets, changes such as "eff-7" or "inh+6"
 * applied, and the options of capget. The starting sets come from capget,
 * so capabilities outside capability_mask keep the value the host gives
 * them. */
static long call_capset(char **words, int count, struct line *detail)
{
    struct capability_sets sets;
    if (read_capabilities(&sets) != 0)
        fail("capget before capset failed: %s", strerror(errno));
    struct capability_call call;
    prepare_capability_call(&call);

    for (int i = 1; i < count; i++) {
        char *change = words[i];
        if (apply_capability_option(&call, change))
            continue;

        size_t length = strcspn(change, "+-");
        if (change[length] == '\0')
            fail("invalid capset change '%s'; expected SET+N or SET-N", change);
        long capability = parse_number(change + length + 1);
        if (capability < 0 || capability > 63)
            fail("capability %ld in '%s' is outside 0...63", capability, change);
        uint64_t bit = UINT64_C(1) << capability;

        uint64_t *set;
        if (length == 3 && strncmp(change, "eff", 3) == 0)
            set = &sets.effective;
        else if (length == 3 && strncmp(change, "prm", 3) == 0)
            set = &sets.permitted;
        else if (length == 3 && strncmp(change, "inh", 3) == 0)
            set = &sets.inheritable;
        else
            fail("invalid capability set in '%s'; expected eff, prm or inh", change);

        if (change[length] == '+')
            *set |= bit;
        else
            *set &= ~bit;
    }

    struct __user_cap_data_struct data[2] = {
        {(uint32_t)sets.effective, (uint32_t)sets.permitted, (uint32_t)sets.inheritable},
        {(uint32_t)(sets.effective >> 32), (uint32_t)(sets.permitted >> 32), (uint32_t)(sets.inheritable >> 32)},
    };
    if (call.data_pointer == call.data)
        memcpy(call.data, data, sizeof data);

    uint32_t requested = call.header.version;
    long result = syscall(SYS_capset, &call.header, call.data_pointer);
    int saved = errno;
    append_version_change(detail, requested, call.header.version);
    errno = saved;
    return result;
}

/* The PR_CAP_AMBIENT sub-operations of <linux/prctl.h>. */
static long call_ambient(char **words, int count)
{
    require_arguments(count, 2, words[0]);
    long operation;
    if (strcmp(words[1], "is-set") == 0)
        operation = PR_CAP_AMBIENT_IS_SET;
    else if (strcmp(words[1], "raise") == 0)
        operation = PR_CAP_AMBIENT_RAISE;
    else if (strcmp(words[1], "lower") == 0)
        operation = PR_CAP_AMBIENT_LOWER;
    else if (strcmp(words[1], "clear-all") == 0)
        operation = PR_CAP_AMBIENT_CLEAR_ALL;
    else
        fail("unknown ambient operation '%s'", words[1]);
    return syscall(SYS_prctl, (long)PR_CAP_AMBIENT, operation, parse_number(words[2]), 0L, 0L);
}

/* Returns DIR/N-NAME, the file that the file operations call NAME. */
static const char *file_path(const char *name)
{
    static char path[4096];
    if (files_directory == NULL)
        fail("file operations need --files DIR");
    if (*name == '\0' || name[strspn(name, "abcdefghijklmnopqrstuvwxyz")] != '\0')
        fail("invalid file name '%s'; expected lowercase letters", name);
    int length = snprintf(path, sizeof path, "%s/%ld-%s", files_directory, sequence_number, name);
    if (length < 0 || (size_t)length >= sizeof path)
        fail("file path for '%s' is too long", name);
    return path;
}

/* Copies this program to the file NAME, so that it can be given an owner
 * and a set-user-ID mode and then run. Returns -1 with errno when the copy
 * cannot be created. */
static long copy_program(const char *name)
{
    const char *path = file_path(name);
    int source = open(program_path, O_RDONLY | O_CLOEXEC);
    if (source < 0)
        fail("cannot open %s: %s", program_path, strerror(errno));
    int target = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (target < 0) {
        int saved = errno;
        close(source);
        errno = saved;
        return -1;
    }

    char buffer[65536];
    ssize_t count;
    while ((count = read(source, buffer, sizeof buffer)) > 0) {
        for (ssize_t written = 0; written < count;) {
            ssize_t result = write(target, buffer + written, (size_t)(count - written));
            if (result < 0)
                fail("cannot write %s: %s", path, strerror(errno));
            written += result;
        }
    }
    if (count < 0 || close(target) != 0)
        fail("cannot copy %s to %s: %s", program_path, path, strerror(errno));
    close(source);
    return 0;
}

/* chown and fchown of the file NAME; fchown goes through a descriptor
 * opened read-only. */
static long call_chown(char **words, int count)
{
    require_arguments(count, 3, words[0]);
    const char *path = file_path(words[1]);
    long uid = parse_number(words[2]);
    long gid = parse_number(words[3]);
    if (strcmp(words[0], "chown") == 0)
        return syscall(SYS_chown, path, uid, gid);

    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0)
        return -1;
    long result = syscall(SYS_fchown, (long)descriptor, uid, gid);
    int saved = errno;
    close(descriptor);
    errno = saved;
    return result;
}

static long call_chmod(char **words, int count)
{
    require_arguments(count, 2, words[0]);
    char *end;
    long mode = strtol(words[2], &end, 8);
    if (*words[2] == '\0' || *end != '\0')
        fail("invalid mode '%s'; expected an octal number", words[2]);
    return syscall(SYS_chmod, file_path(words[1]), mode);
}

static long call_stat(char **words, int count, struct line *detail)
{
    require_arguments(count, 1, words[0]);
    struct stat status;
    long result = syscall(SYS_stat, file_path(words[1]), &status);
    if (result == 0)
        append(detail, " -> uid %u gid %u mode %o", status.st_uid, status.st_gid, status.st_mode);
    return result;
}

/* Runs one operation and returns its raw result, with errno set on -1. */
static long run_operation(char **words, int count, struct line *detail)
{
    const char *name = words[0];

    if (strcmp(name, "setuid") == 0) {
        require_arguments(count, 1, name);
        return syscall(SYS_setuid, parse_number(words[1]));
    }
    if (strcmp(name, "setgid") == 0) {
        require_arguments(count, 1, name);
        return syscall(SYS_setgid, parse_number(words[1]));
    }
    if (strcmp(name, "setfsuid") == 0) {
        require_arguments(count, 1, name);
        return syscall(SYS_setfsuid, parse_number(words[1]));
    }
    if (strcmp(name, "setfsgid") == 0) {
        require_arguments(count, 1, name);
        return syscall(SYS_setfsgid, parse_number(words[1]));
    }
    if (strcmp(name, "setreuid") == 0) {
        require_arguments(count, 2, name);
        return syscall(SYS_setreuid, parse_number(words[1]), parse_number(words[2]));
    }
    if (strcmp(name, "setregid") == 0) {
        require_arguments(count, 2, name);
        return syscall(SYS_setregid, parse_number(words[1]), parse_number(words[2]));
    }
    if (strcmp(name, "setresuid") == 0) {
        require_arguments(count, 3, name);
        return syscall(SYS_setresuid, parse_number(words[1]), parse_number(words[2]), parse_number(words[3]));
    }
    if (strcmp(name, "setresgid") == 0) {
        require_arguments(count, 3, name);
        return syscall(SYS_setresgid, parse_number(words[1]), parse_number(words[2]), parse_number(words[3]));
    }
    if (strcmp(name, "setgroups") == 0)
        return call_setgroups(words, count);
    if (strcmp(name, "getgroups") == 0)
        return call_getgroups(words, count, detail);
    if (strcmp(name, "getresuid") == 0)
        return call_getresid(SYS_getresuid, words, count, detail);
    if (strcmp(name, "getresgid") == 0)
        return call_getresid(SYS_getresgid, words, count, detail);
    if (strcmp(name, "keepcaps") == 0) {
        require_arguments(count, 1, name);
        return syscall(SYS_prctl, (long)PR_SET_KEEPCAPS, parse_number(words[1]), 0L, 0L, 0L);
    }
    if (strcmp(name, "getkeepcaps") == 0) {
        require_arguments(count, 0, name);
        return syscall(SYS_prctl, (long)PR_GET_KEEPCAPS, 0L, 0L, 0L, 0L);
    }
    if (strcmp(name, "capget") == 0 || strcmp(name, "capget-probe") == 0
        || strcmp(name, "capget-fault") == 0)
        return call_capget(words, count, detail);
    if (strcmp(name, "capset") == 0)
        return call_capset(words, count, detail);
    if (strcmp(name, "securebits") == 0) {
        require_arguments(count, 1, name);
        char *end;
        long bits = strtol(words[1], &end, 16);
        if (*end != '\0')
            fail("invalid securebits '%s'; expected a hexadecimal number", words[1]);
        return syscall(SYS_prctl, (long)PR_SET_SECUREBITS, bits, 0L, 0L, 0L);
    }
    if (strcmp(name, "capbset-read") == 0) {
        require_arguments(count, 1, name);
        return syscall(SYS_prctl, (long)PR_CAPBSET_READ, parse_number(words[1]), 0L, 0L, 0L);
    }
    if (strcmp(name, "capbset-drop") == 0) {
        require_arguments(count, 1, name);
        return syscall(SYS_prctl, (long)PR_CAPBSET_DROP, parse_number(words[1]), 0L, 0L, 0L);
    }
    if (strcmp(name, "ambient") == 0)
        return call_ambient(words, count);
    if (strcmp(name, "nonewprivs") == 0) {
        require_arguments(count, 0, name);
        return syscall(SYS_prctl, (long)PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L);
    }
    if (strcmp(name, "file") == 0) {
        require_arguments(count, 1, name);
        return copy_program(words[1]);
    }
    if (strcmp(name, "chown") == 0 || strcmp(name, "fchown") == 0)
        return call_chown(words, count);
    if (strcmp(name, "chmod") == 0)
        return call_chmod(words, count);
    if (strcmp(name, "stat") == 0)
        return call_stat(words, count, detail);
    if (strcmp(name, "prctl") == 0) {
        require_arguments(count, 5, name);
        return syscall(SYS_prctl, parse_number(words[1]), parse_number(words[2]), parse_number(words[3]),
                       parse_number(words[4]), parse_number(words[5]));
    }

    fail("unknown operation '%s'", name);
}

/* Removes leading and trailing spaces in place. */
static char *trim(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t' || text[length - 1] == '\n'))
        text[--length] = '\0';
    return text;
}

/* Returns whether an operation is "exec" or "exec-file", which replace the
 * process image. */
static int is_exec(const char *name)
{
    return strcmp(name, "exec") == 0 || strcmp(name, "exec-file") == 0;
}

/* Runs "exec" (this program again) or "exec-file NAME" (a copy made by
 * "file"). The new image prints its state on a line that starts with the
 * operation, then runs `rest`, the rest of the sequence. Returns only when
 * execve fails. */
static long call_exec(char **words, int count, const char *rest)
{
    const char *path = program_path;
    char first_line[128];
    if (strcmp(words[0], "exec-file") == 0) {
        require_arguments(count, 1, words[0]);
        path = file_path(words[1]);
        snprintf(first_line, sizeof first_line, "exec-file %s = 0", words[1]);
    } else {
        require_arguments(count, 0, words[0]);
        snprintf(first_line, sizeof first_line, "exec = 0");
    }

    char mask[32];
    char sequence[32];
    snprintf(mask, sizeof mask, "%" PRIx64, capability_mask);
    snprintf(sequence, sizeof sequence, "%ld", sequence_number);
    char *arguments[16] = {
        (char *)path, "--capability-mask", mask, "--program", program_path,
        "--sequence", sequence, "--first-line", first_line,
    };
    int next = 9;
    if (files_directory != NULL) {
        arguments[next++] = "--files";
        arguments[next++] = (char *)files_directory;
    }
    arguments[next++] = "--after-exec";
    arguments[next++] = (char *)(rest ? rest : "");
    arguments[next] = NULL;

    fflush(stdout);
    return syscall(SYS_execve, path, arguments, environ);
}

/* The helper thread of "thread OPERATION": the main thread hands it one
 * operation at a time and waits until it has run it and read its state. */
static struct {
    int started;
    pthread_t thread;
    sem_t request;
    sem_t done;
    char **words;
    int count;
    const char *rest;
    long result;
    int error;
    struct line detail;
    struct line state;
} helper;

static void *run_helper(void *unused)
{
    (void)unused;
    for (;;) {
        while (sem_wait(&helper.request) != 0)
            ;
        helper.detail.length = 0;
        helper.detail.text[0] = '\0';
        errno = 0;
        if (is_exec(helper.words[0])) {
            helper.result = call_exec(helper.words, helper.count, helper.rest);
        } else {
            helper.result = run_operation(helper.words, helper.count, &helper.detail);
        }
        helper.error = errno;
        helper.state.length = 0;
        append_state(&helper.state);
        sem_post(&helper.done);
    }
    return NULL;
}

static void start_helper(void)
{
    if (helper.started)
        return;
    if (sem_init(&helper.request, 0, 0) != 0 || sem_init(&helper.done, 0, 0) != 0)
        fail("sem_init failed");
    int error = pthread_create(&helper.thread, NULL, run_helper, NULL);
    if (error != 0)
        fail("pthread_create failed: %s", strerror(error));
    helper.started = 1;
}

/* Runs one operation in the helper thread and copies its detail and state
 * into `detail` and `state`. */
static long run_in_helper(char **words, int count, const char *rest, struct line *detail, struct line *state, int *error)
{
    start_helper();
    helper.words = words;
    helper.count = count;
    helper.rest = rest;
    sem_post(&helper.request);
    while (sem_wait(&helper.done) != 0)
        ;
    *detail = helper.detail;
    *state = helper.state;
    *error = helper.error;
    return helper.result;
}

/* Appends how a child ended: "exit CODE" or "signal N". */
static void append_exit_status(struct line *line, int status)
{
    if (WIFEXITED(status))
        append(line, "exit %d", WEXITSTATUS(status));
    else
        append(line, "signal %d", WTERMSIG(status));
}

/* Forks for the "fork" operation. Returns 0 in the child, which goes on
 * with the sequence. The parent waits for the child, prints its own state
 * and returns 1, so that it stops. */
static int fork_sequence(const char *echo)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        fail("fork failed: %s", strerror(errno));
    if (child == 0) {
        /* Only the calling thread exists in the child, so a later "thread"
         * operation must start a new helper. */
        helper.started = 0;
        return 0;
    }

    int status;
    if (waitpid(child, &status, 0) != child)
        fail("waitpid failed: %s", strerror(errno));
    struct line line = {.length = 0};
    append(&line, "%s (parent) = child ", echo);
    append_exit_status(&line, status);
    append(&line, " | ");
    append_state(&line);
    printf("%s\n", line.text);
    fflush(stdout);
    return 1;
}

/* Runs every operation of one sequence in order, in the forked child. The
 * first line is "start | STATE", or "exec = 0 -> auxv ... | STATE" after an
 * exec. */
static void run_sequence(char *sequence, const char *first_line)
{
    struct line line = {.length = 0};
    append(&line, "%s | ", first_line);
    append_state(&line);
    printf("%s\n", line.text);

    char *rest = sequence;
    char *operation;
    while ((operation = strsep(&rest, ";")) != NULL) {
        operation = trim(operation);
        if (*operation == '\0')
            continue;

        char echo[512];
        snprintf(echo, sizeof echo, "%s", operation);
        char *words[8];
        int count = split_words(operation, words, 8);

        struct line detail = {.length = 0};
        struct line state = {.length = 0};
        long result;
        int error;
        if (strcmp(words[0], "thread") == 0) {
            if (count < 2)
                fail("thread needs an operation");
            result = run_in_helper(words + 1, count - 1, rest, &detail, &state, &error);
        } else {
            errno = 0;
            if (is_exec(words[0])) {
                result = call_exec(words, count, rest);
            } else if (strcmp(words[0], "fork") == 0) {
                require_arguments(count, 0, "fork");
                if (fork_sequence(echo))
                    return;
                result = 0;
            } else if (strcmp(words[0], "thread-start") == 0) {
                require_arguments(count, 0, "thread-start");
                start_helper();
                result = 0;
            } else {
                result = run_operation(words, count, &detail);
            }
            error = errno;
            append_state(&state);
        }

        line.length = 0;
        append(&line, "%s = %ld", echo, result);
        if (result == -1)
            append(&line, " %s", errno_name(error));
        append(&line, "%s | %s", detail.text, state.text);
        printf("%s\n", line.text);
    }
    fflush(stdout);
}

/* Gives the process the state every sequence starts from. Under remainroot
 * these calls are emulated, and natively they need real root. */
static void reset_credentials(void)
{
    gid_t root_group = 0;
    if (syscall(SYS_setresgid, 0L, 0L, 0L) != 0
        || syscall(SYS_setresuid, 0L, 0L, 0L) != 0
        || syscall(SYS_setgroups, 1L, &root_group) != 0
        || syscall(SYS_prctl, (long)PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0) {
        fail("cannot reset to uid 0, gid 0, groups [0]: %s", strerror(errno));
    }
}

int main(int argc, char **argv)
{
    FILE *sequences = stdin;
    char *after_exec = NULL;
    const char *first_line = "exec = 0";
    const char *program = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--capability-mask") == 0 && i + 1 < argc) {
            char *end;
            capability_mask = strtoull(argv[++i], &end, 16);
            if (*argv[i] == '\0' || *end != '\0')
                fail("invalid capability mask '%s'; expected a hexadecimal number", argv[i]);
        } else if (strcmp(argv[i], "--after-exec") == 0 && i + 1 < argc) {
            after_exec = argv[++i];
        } else if (strcmp(argv[i], "--files") == 0 && i + 1 < argc) {
            files_directory = argv[++i];
        } else if (strcmp(argv[i], "--program") == 0 && i + 1 < argc) {
            program = argv[++i];
        } else if (strcmp(argv[i], "--sequence") == 0 && i + 1 < argc) {
            sequence_number = parse_number(argv[++i]);
        } else if (strcmp(argv[i], "--first-line") == 0 && i + 1 < argc) {
            first_line = argv[++i];
        } else if (argv[i][0] != '-' && sequences == stdin) {
            sequences = fopen(argv[i], "r");
            if (sequences == NULL)
                fail("cannot open %s: %s", argv[i], strerror(errno));
        } else {
            fail("invalid argument '%s'; usage: credential-sequence [--capability-mask HEX] [--files DIR] [FILE]", argv[i]);
        }
    }

    if (realpath(program != NULL ? program : "/proc/self/exe", program_path) == NULL)
        fail("cannot resolve the program's path: %s", strerror(errno));
    map_pages();

    if (after_exec != NULL) {
        struct line line = {.length = 0};
        append(&line, "%s -> auxv %lu %lu %lu %lu secure %lu", first_line,
               getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID),
               getauxval(AT_EGID), getauxval(AT_SECURE));
        run_sequence(after_exec, line.text);
        return 0;
    }

    /* Files get mode 0755 from "file" whatever the caller's umask. */
    umask(022);
    reset_credentials();

    char *input = NULL;
    size_t capacity = 0;
    long number = 0;
    while (getline(&input, &capacity, sequences) >= 0) {
        char *sequence = trim(input);
        if (*sequence == '\0' || *sequence == '#')
            continue;
        number++;
        sequence_number = number;

        printf("sequence %ld: %s\n", number, sequence);
        fflush(stdout);

        pid_t child = fork();
        if (child < 0)
            fail("fork failed");
        if (child == 0) {
            run_sequence(sequence, "start");
            _exit(0);
        }

        int status;
        if (waitpid(child, &status, 0) != child)
            fail("waitpid failed");
        struct line end = {.length = 0};
        append(&end, "end ");
        append_exit_status(&end, status);
        printf("%s\n", end.text);
        fflush(stdout);
    }
    free(input);
    return 0;
}
